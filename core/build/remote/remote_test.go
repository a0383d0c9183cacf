package remote

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/redact"
	"github.com/mmbuild/mmbuild/plugins/storage-file/filestore"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// finished records the transfers that finished; PutMany finishes them
// concurrently, as the real reporters (locked) allow.
type finished struct {
	mu  sync.Mutex
	ops []string
}

func (f *finished) Update(string, string, int64, int64) {}
func (f *finished) Close()                              {}
func (f *finished) Finish(op, url string, _ int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, op+" "+url)
}

// fileStore is a Store over the real file plugin, in-process over gRPC.
func fileStore(t *testing.T, rep *finished, red *redact.Redactor) *Store {
	conn := sdktest.Serve(t, plugin.WithName("file"), plugin.WithStorage("file", filestore.New()))
	resolve := func(scheme string) (Backend, error) {
		if scheme != "file" {
			return Backend{}, errors.New("no plugin for " + scheme)
		}
		return Backend{Name: "file", Storage: conn.Storage()}, nil
	}
	return New(resolve, rep, red)
}

func TestGetPutRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(src, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := &finished{}
	s := fileStore(t, rep, nil)
	ctx := context.Background()
	u := "file://" + dir + "/out/a.txt"
	if _, err := s.Put(ctx, src, u, nil); err != nil {
		t.Fatal(err)
	}
	obj, err := s.Get(ctx, u, filepath.Join(dir, "got"))
	if err != nil {
		t.Fatal(err)
	}
	if obj.Bytes != 4 || obj.Plugin != "file" {
		t.Fatalf("object %+v", obj)
	}
	if _, err := s.Get(ctx, u, filepath.Join(dir, "quiet"), Quiet()); err != nil {
		t.Fatal(err)
	}
	want := []string{"put " + u, "get " + u}
	if strings.Join(rep.ops, ",") != strings.Join(want, ",") {
		t.Fatalf("progress %v, want %v (a quiet get reports nothing)", rep.ops, want)
	}
}

func TestNotFoundIsTheSameForEveryCaller(t *testing.T) {
	dir := t.TempDir()
	red := redact.New()
	red.Add("hunter2-secret")
	s := fileStore(t, &finished{}, red)
	_, err := s.Get(context.Background(), "file://"+dir+"/hunter2-secret/missing", filepath.Join(dir, "x"))
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v: want ErrNotFound and fs.ErrNotExist", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks the secret: %v", err)
	}
	// The file plugin refuses a query, echoing the URL: the store rewords it.
	_, err = s.Get(context.Background(), "file://"+dir+"/x?token=abc", filepath.Join(dir, "q"))
	if err == nil || strings.Contains(err.Error(), "token=abc") {
		t.Fatalf("error leaks the query: %v", err)
	}
	if _, err := s.Get(context.Background(), "ftp://h/x", filepath.Join(dir, "y")); err == nil || !strings.Contains(err.Error(), "no plugin for ftp") {
		t.Fatalf("unknown scheme: %v", err)
	}
}

func TestCredentials(t *testing.T) {
	entries := []config.Credential{
		{URL: "https://h/", Secret: "A"},
		{URL: "https://h/private/", Secret: "B", Header: "X-Api-Key"},
		{URL: "gcs://bucket", Secrets: map[string]string{"key_file": "B"}, Options: config.Options{"project": "p1"}},
		{URL: "https://unresolved/", Secret: "C"},
	}
	creds := Credentials(entries, map[string]string{"A": "tok-a", "B": "tok-b"})
	tests := []struct {
		url  string
		want map[string]string
	}{
		{"https://h/x", map[string]string{"token": "tok-a"}},
		{"https://h/private/x", map[string]string{"token": "tok-b", "token_header": "X-Api-Key"}},
		{"gcs://bucket/obj", map[string]string{"key_file": "tok-b", "project": "p1"}},
		{"https://other/x", nil},
		{"https://h.evil/x", nil},
		{"gcs://bucket.evil/obj", nil},
		{"https://unresolved/x", nil},
	}
	for _, tt := range tests {
		got := creds(tt.url)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %v, want %v", tt.url, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", tt.url, k, got[k], v)
			}
		}
	}
}

func TestRedactAndScheme(t *testing.T) {
	tests := []struct{ in, redacted string }{
		{"https://u:pw@h/x?sig=1", "https://REDACTED@h/x?REDACTED"},
		{"https://TOKEN123@h/x", "https://REDACTED@h/x"},
		{"s3://b/k", "s3://b/k"},
		{"http://[::1", "<unparsable URL>"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.redacted {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.redacted)
		}
	}
	if s, err := Scheme("GIT+HTTPS://h/r", "x"); err != nil || s != "git+https" {
		t.Errorf("Scheme: %q %v", s, err)
	}
	for _, u := range []string{"https://u:pw@h/", "git+http://TOKEN123@h/r.git"} {
		if _, err := Scheme(u, "materials[0]"); err == nil || strings.Contains(err.Error(), "pw@") || strings.Contains(err.Error(), "TOKEN123") {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestMaxBytes(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "big")
	if err := os.WriteFile(src, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	s := fileStore(t, &finished{}, nil)
	dest := filepath.Join(dir, "got")
	_, err := s.Get(context.Background(), "file://"+src, dest, WithMaxBytes(1000))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "larger than its size limit of 1000 bytes") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the refused object was left at %s: %v", dest, err)
	}
	if _, err := s.Get(context.Background(), "file://"+src, dest, WithMaxBytes(1<<20)); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	}
}

// lyingStore writes size bytes at once and reports only 10, in one call
// shorter than the core's poll of the destination.
type lyingStore struct{ size int }

func (l lyingStore) Stat(context.Context, *storage.StatRequest) (*storage.StatResponse, error) {
	return &storage.StatResponse{Size: 10}, nil
}

func (l lyingStore) Get(_ context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	if err := os.WriteFile(req.DestPath, make([]byte, l.size), 0o644); err != nil {
		return nil, err
	}
	return &storage.GetResponse{Bytes: 10, Files: 1}, nil
}

func (l lyingStore) Put(context.Context, *storage.PutRequest) (*storage.PutResponse, error) {
	return nil, errors.ErrUnsupported
}

// maxSize bounds what a plugin wrote, not what it reported: a plugin that
// writes 2 MiB and says 10 bytes is refused under a 1 MiB limit.
func TestMaxBytesBoundsWhatWasWrittenNotWhatWasReported(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("liar"), plugin.WithStorage("liar", lyingStore{size: 2 << 20}))
	s := New(func(string) (Backend, error) { return Backend{Name: "liar", Storage: conn.Storage()}, nil }, nil, nil)
	dest := filepath.Join(t.TempDir(), "got")
	_, err := s.Get(context.Background(), "liar://x/y", dest, WithMaxBytes(1<<20))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the refused object was left at %s: %v", dest, err)
	}
}
