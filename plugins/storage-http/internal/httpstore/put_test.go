package httpstore

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

func put(t *testing.T, s storage.Storage, src, u string, opts map[string]string, progress storage.ProgressFunc) (*storage.PutResponse, error) {
	t.Helper()
	return s.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: u, Options: opts, Progress: progress})
}

func TestPutFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	srv := testservers.NewHTTPServer(t, root, testservers.WithPut())
	src := t.TempDir()
	data := object(t, src, "file.bin", 2<<20+5)
	s := testStore()
	log := sdktest.NewProgressLog(t, "Put")
	resp, err := put(t, s, filepath.Join(src, "file.bin"), srv.URL+"/up/file.bin", nil, log.Report)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if resp.Bytes != int64(len(data)) || resp.Files != 1 || resp.IsDir {
		t.Errorf("Put response %+v", resp)
	}
	if got, err := os.ReadFile(filepath.Join(root, "up/file.bin")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the server holds %d bytes (%v), want the %d put", len(got), err, len(data))
	}
	if last, _ := log.Last(); last.DoneBytes != int64(len(data)) || last.TotalBytes != int64(len(data)) {
		t.Errorf("last progress %+v", last)
	}
	reqs := srv.Requests("/up/file.bin")
	if len(reqs) != 1 || reqs[0].Method != http.MethodPut || reqs[0].Header.Get("Content-Length") != "2097157" {
		t.Errorf("requests %+v, want one PUT with its Content-Length", reqs)
	}

	// An empty file is an empty body, not a chunked one.
	empty := filepath.Join(src, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := put(t, s, empty, srv.URL+"/up/empty", nil, nil); err != nil {
		t.Fatalf("Put of an empty file: %v", err)
	}
	mustGet(t, s, srv.URL+"/up/empty", nil, []byte{})
}

// TestPutRetries: the body is sent whole again after a 503.
func TestPutRetries(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	srv := testservers.NewHTTPServer(t, root, testservers.WithPut())
	srv.Fail("/obj", 503, 500)
	src := t.TempDir()
	data := object(t, src, "obj", 300_000)
	if _, err := put(t, testStore(), filepath.Join(src, "obj"), srv.URL+"/obj", nil, nil); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "obj")); !bytes.Equal(got, data) {
		t.Errorf("the server holds %d bytes, want %d", len(got), len(data))
	}
	if n := srv.Count("/obj"); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// TestPutFollows307: a 307 keeps the method and the body; a 302 is refused.
func TestPutRedirects(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	srv := testservers.NewHTTPServer(t, root, testservers.WithPut())
	srv.Redirect("/old", "/new") // 307 for a PUT
	srv.Handle("/found", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new2", http.StatusFound)
	}))
	src := t.TempDir()
	data := object(t, src, "obj", 5000)
	s := testStore()
	if _, err := put(t, s, filepath.Join(src, "obj"), srv.URL+"/old", nil, nil); err != nil {
		t.Fatalf("Put through a 307: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "new")); !bytes.Equal(got, data) {
		t.Errorf("/new holds %d bytes, want %d", len(got), len(data))
	}
	_, err := put(t, s, filepath.Join(src, "obj"), srv.URL+"/found", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "only 307 and 308") {
		t.Errorf("Put through a 302: %v", err)
	}
}

func TestPutUnsupported(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	readOnly := testservers.NewHTTPServer(t, root)
	writable := testservers.NewHTTPServer(t, root, testservers.WithPut())
	writable.Fail("/not-implemented", http.StatusNotImplemented)
	src := t.TempDir()
	object(t, src, "obj", 10)
	s := wire(t, testStore())

	_, err := put(t, s, filepath.Join(src, "obj"), readOnly.URL+"/obj", nil, nil)
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "405") {
		t.Errorf("Put to a server without PUT: %v, want errors.ErrUnsupported with the 405", err)
	}
	_, err = put(t, s, filepath.Join(src, "obj"), writable.URL+"/not-implemented", nil, nil)
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "501") {
		t.Errorf("Put answered 501: %v, want errors.ErrUnsupported with the 501", err)
	}
	_, err = put(t, s, src, writable.URL+"/dir", nil, nil)
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Put of a directory: %v, want errors.ErrUnsupported", err)
	}
	if n := writable.Count("/dir"); n != 0 {
		t.Errorf("Put of a directory sent %d requests", n)
	}
}
