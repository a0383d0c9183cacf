package httpstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

func TestGetNotFound(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	object(t, root, "gone", 10)
	srv := testservers.NewHTTPServer(t, root)
	srv.Fail("/gone", http.StatusGone)
	s := testStore()
	for _, p := range []string{"/missing", "/gone"} {
		_, _, err := get(t, s, srv.URL+p, nil, nil)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), p) {
			t.Errorf("Get %s: %v, want fs.ErrNotExist naming the URL", p, err)
		}
		if n := srv.Count(p); n != 1 {
			t.Errorf("Get %s sent %d requests, want 1 (a 404 is not retried)", p, n)
		}
	}
}

func TestGetRetriesServerErrors(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := object(t, root, "obj", 70_000)
	srv := testservers.NewHTTPServer(t, root)
	srv.Fail("/obj", 500, 502, 503, 429)
	mustGet(t, testStore(), srv.URL+"/obj", nil, data)
	if n := srv.Count("/obj"); n != 5 {
		t.Errorf("%d requests, want 4 failures and a success", n)
	}
}

func TestGetGivesUp(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	object(t, root, "obj", 10)
	srv := testservers.NewHTTPServer(t, root)
	srv.Fail("/obj", 500, 500, 500, 500, 500, 500, 500)
	_, _, err := get(t, testStore(), srv.URL+"/obj", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "500 Internal Server Error") || !strings.Contains(err.Error(), "gave up after 5 attempts") {
		t.Errorf("Get: %v, want a 500 after 5 attempts", err)
	}
	if n := srv.Count("/obj"); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
}

func TestGetHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := object(t, root, "obj", 10)
	srv := testservers.NewHTTPServer(t, root)
	srv.Fail("/obj", http.StatusTooManyRequests)
	srv.RetryAfter("/obj", 1)
	start := time.Now()
	mustGet(t, testStore(), srv.URL+"/obj", nil, data)
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %v, want the server's Retry-After of 1s", d)
	}
}

// TestGetResumesAfterCut: the connection breaks mid-body; the rest comes
// with a Range request and the bytes are the object's.
func TestGetResumesAfterCut(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			data := object(t, root, "big.bin", 3<<20+17)
			var opts []testservers.HTTPOption
			if tls {
				opts = append(opts, testservers.WithTLS()) // HTTP/2: a reset stream
			}
			srv := testservers.NewHTTPServer(t, root, opts...)
			srv.CutAfter("/big.bin", 1_000_000)
			var o map[string]string
			if tls {
				o = map[string]string{"ca_file": srv.CAFile}
			}
			log := sdktest.NewProgressLog(t, "Get")
			_, got, err := get(t, testStore(), srv.URL+"/big.bin", o, log.Report)
			if err != nil || sum(got) != sum(data) {
				t.Fatalf("Get: %v, sha256 %s, want %s", err, sum(got), sum(data))
			}
			reqs := srv.Requests("/big.bin")
			if len(reqs) != 2 || reqs[0].Range != "" {
				t.Fatalf("requests %+v, want a cut GET and a resume", reqs)
			}
			resume := reqs[1]
			if !tls && resume.Range != "bytes=1000000-" {
				t.Errorf("resumed with Range %q, want bytes=1000000-", resume.Range)
			}
			// Over HTTP/2 the reset stream may drop bytes in flight: the
			// resume starts where the file stopped.
			if resume.Range != "" && (resume.Status != http.StatusPartialContent || resume.Header.Get("If-Range") == "") {
				t.Errorf("resume %+v: want a 206 to a Range with If-Range", resume)
			}
			if last, _ := log.Last(); last.DoneBytes != int64(len(data)) || last.TotalBytes != int64(len(data)) {
				t.Errorf("last progress %+v, want %d of %d", last, len(data), len(data))
			}
		})
	}
}

func TestGetRestartsWhenRangeIgnored(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := object(t, root, "big.bin", 2<<20)
	srv := testservers.NewHTTPServer(t, root)
	srv.CutAfter("/big.bin", 700_000)
	srv.IgnoreRange("/big.bin")
	log := sdktest.NewProgressLog(t, "Get")
	_, got, err := get(t, testStore(), srv.URL+"/big.bin", nil, log.Report)
	if err != nil || sum(got) != sum(data) {
		t.Fatalf("Get: %v, sha256 %s, want %s", err, sum(got), sum(data))
	}
	reqs := srv.Requests("/big.bin")
	if len(reqs) != 2 || reqs[1].Range != "bytes=700000-" || reqs[1].Status != http.StatusOK {
		t.Errorf("requests %+v, want a cut GET, then a Range GET answered 200", reqs)
	}
	if last, _ := log.Last(); last.DoneBytes != int64(len(data)) {
		t.Errorf("last progress %+v, want %d bytes", last, len(data))
	}
}

// TestGetRestartsOnWrongContentRange: a 206 that does not start where the
// file stops is not appended; the download starts over.
func TestGetRestartsOnWrongContentRange(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := object(t, root, "obj", 100_000)
	srv := testservers.NewHTTPServer(t, root)
	srv.CutAfter("/obj", 40_000)
	srv.Handle("/wrong", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-99/%d", len(data)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[:100])
			return
		}
		http.Redirect(w, r, "/obj", http.StatusFound)
	}))
	mustGet(t, testStore(), srv.URL+"/wrong", nil, data)
	reqs := srv.Requests("/wrong")
	if len(reqs) != 3 || reqs[1].Range != "bytes=40000-" || reqs[2].Range != "" {
		t.Errorf("requests %+v, want GET, a resume answered from byte 0, then a GET from zero", reqs)
	}
}

func TestGetReadTimeoutResumes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := object(t, root, "obj", 1<<20)
	srv := testservers.NewHTTPServer(t, root)
	srv.StallAfter("/obj", 200_000, 10*time.Second)
	start := time.Now()
	mustGet(t, testStore(), srv.URL+"/obj", map[string]string{"read_timeout": "200ms"}, data)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: the stall was waited out, not timed out", d)
	}
	if reqs := srv.Requests("/obj"); len(reqs) != 2 || reqs[1].Range != "bytes=200000-" {
		t.Errorf("requests %+v, want a stalled GET then a resume at 200000", reqs)
	}
}

func TestGetTimeout(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	object(t, root, "obj", 10)
	srv := testservers.NewHTTPServer(t, root)
	srv.Slow("/obj", 20*time.Second)
	for name, tc := range map[string]struct {
		opts map[string]string
		env  string
	}{
		"option": {opts: map[string]string{"timeout": "100ms"}},
		"env":    {env: "100ms"},
	} {
		t.Run(name, func(t *testing.T) {
			s := testStore()
			s.getenv = func(k string) string {
				if k == envTimeout {
					return tc.env
				}
				return ""
			}
			start := time.Now()
			_, _, err := get(t, s, srv.URL+"/obj", tc.opts, nil)
			if err == nil || !strings.Contains(err.Error(), "timeout") || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Get from a slow server: %v, want a timeout error", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("gave up after %v", d)
			}
		})
	}
}

func TestGetRedirects(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := object(t, root, "obj", 1000)
	srv := testservers.NewHTTPServer(t, root)
	for i := range 11 {
		srv.Redirect(fmt.Sprintf("/r%d", i), fmt.Sprintf("/r%d", i+1))
	}
	srv.Redirect("/r11", "/obj")
	srv.Redirect("/abs", srv.URL+"/obj?sig=1")
	s := testStore()
	mustGet(t, s, srv.URL+"/r2", nil, data) // 10 redirects
	mustGet(t, s, srv.URL+"/abs", nil, data)
	_, _, err := get(t, s, srv.URL+"/r1", nil, nil) // 11
	if err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") {
		t.Errorf("11 redirects: %v", err)
	}
	if n := srv.Count("/obj"); n != 2 {
		t.Errorf("/obj served %d times, want 2", n)
	}
}

func TestGetRedirectLoop(t *testing.T) {
	t.Parallel()
	srv := testservers.NewHTTPServer(t, t.TempDir())
	srv.RedirectLoop("/loop")
	_, _, err := get(t, testStore(), srv.URL+"/loop", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "redirect loop") || strings.Contains(err.Error(), "attempts") {
		t.Errorf("Get: %v, want a redirect loop, not retried", err)
	}
	if n := srv.Count("/loop"); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// TestGetShortBodyNeverSucceeds: a server that always stops before its
// Content-Length gives an error, never a short file.
func TestGetShortBodyNeverSucceeds(t *testing.T) {
	t.Parallel()
	srv := testservers.NewHTTPServer(t, t.TempDir())
	srv.Handle("/short", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Header().Set("Accept-Ranges", "none")
		w.Write(make([]byte, 10))
		http.NewResponseController(w).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	_, _, err := get(t, testStore(), srv.URL+"/short", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "gave up after 5 attempts") {
		t.Errorf("Get: %v, want an error after 5 attempts", err)
	}
}

// TestGetIgnoresContentDisposition: the name comes from the core; nothing is
// written beside DestPath whatever the server suggests.
func TestGetIgnoresContentDisposition(t *testing.T) {
	t.Parallel()
	srv := testservers.NewHTTPServer(t, t.TempDir())
	srv.Handle("/x", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="../../evil.sh"; filename*=UTF-8''..%2F..%2Fevil.sh`)
		w.Write([]byte("payload"))
	}))
	parent := t.TempDir()
	dir := filepath.Join(parent, "staging")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "dest")
	if _, err := testStore().Get(t.Context(), &storage.GetRequest{URL: srv.URL + "/x", DestPath: dest}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{parent, dir} {
		entries, _ := os.ReadDir(d)
		if len(entries) != 1 {
			t.Errorf("%s holds %v, want one entry", d, entries)
		}
	}
}

func TestGetDestinationExists(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	object(t, root, "obj", 10)
	srv := testservers.NewHTTPServer(t, root)
	dest := filepath.Join(t.TempDir(), "dest")
	if err := os.WriteFile(dest, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := testStore().Get(t.Context(), &storage.GetRequest{URL: srv.URL + "/obj", DestPath: dest})
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get over an existing file: %v, want an error", err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "keep" {
		t.Errorf("the existing file now holds %q", b)
	}
}

func TestGetCancel(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	object(t, root, "obj", 10)
	srv := testservers.NewHTTPServer(t, root)
	srv.Slow("/obj", 20*time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	dest := filepath.Join(t.TempDir(), "dest")
	_, err := wire(t, testStore()).Get(ctx, &storage.GetRequest{URL: srv.URL + "/obj", DestPath: dest})
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a context that ends: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v", d)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("DestPath left behind: %v", err)
	}
}

// A server that trickles a byte every 100 ms never lets read_timeout fire
// (it starts again with every byte); min_speed ends each attempt that moves
// less, so the Get fails within its attempts instead of running forever.
func TestGetTrickleEndsAtMinSpeed(t *testing.T) {
	t.Parallel()
	srv := testservers.NewHTTPServer(t, t.TempDir())
	srv.Handle("/trickle", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		for {
			if _, err := w.Write([]byte{'x'}); err != nil {
				return
			}
			if err := http.NewResponseController(w).Flush(); err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	dest := filepath.Join(t.TempDir(), "dest")
	_, err := wire(t, testStore()).Get(ctx, &storage.GetRequest{URL: srv.URL + "/trickle", DestPath: dest,
		Options: map[string]string{"read_timeout": "300ms", "min_speed": "100"}})
	if err == nil || !strings.Contains(err.Error(), "less than 100 bytes/s over 300ms (option min_speed") {
		t.Fatalf("Get from a trickling server: %v, want the min_speed timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v", d)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("DestPath left behind: %v", err)
	}
}
