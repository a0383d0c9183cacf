package testservers

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixture writes a file of n deterministic bytes under root.
func httpFixture(t *testing.T, root, name string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
	err    error // reading the body
}

func httpDo(t *testing.T, c *http.Client, method, url string, body io.Reader, header ...string) httpResult {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return httpResult{resp.StatusCode, resp.Header, b, err}
}

func TestHTTPServesFilesWithRange(t *testing.T) {
	root := t.TempDir()
	data := httpFixture(t, root, "dir/file.bin", 10_000)
	httpFixture(t, t.TempDir(), "outside", 10)
	if err := os.Symlink("/etc/hostname", filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(t, root)
	c := srv.Client()

	if r := httpDo(t, c, "GET", srv.URL+"/dir/file.bin", nil); r.status != 200 || !bytes.Equal(r.body, data) || r.header.Get("ETag") == "" {
		t.Errorf("GET: %d, %d bytes, ETag %q", r.status, len(r.body), r.header.Get("ETag"))
	}
	r := httpDo(t, c, "GET", srv.URL+"/dir/file.bin", nil, "Range", "bytes=100-")
	if r.status != http.StatusPartialContent || !bytes.Equal(r.body, data[100:]) || r.header.Get("Content-Range") != "bytes 100-9999/10000" {
		t.Errorf("GET with Range: %d, %d bytes, Content-Range %q", r.status, len(r.body), r.header.Get("Content-Range"))
	}
	if r := httpDo(t, c, "HEAD", srv.URL+"/dir/file.bin", nil); r.status != 200 || r.header.Get("Content-Length") != "10000" {
		t.Errorf("HEAD: %d, Content-Length %q", r.status, r.header.Get("Content-Length"))
	}
	for _, p := range []string{"/missing", "/dir", "/dir/", "/", "/dir/file.bin/below", "/escape", "/../outside"} {
		if r := httpDo(t, c, "GET", srv.URL+p, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}
	if got := srv.Requests("/dir/file.bin"); len(got) != 3 || got[1].Range != "bytes=100-" || got[1].Status != 206 || got[2].Method != "HEAD" {
		t.Errorf("Requests: %+v", got)
	}
	if n := srv.Count("dir/file.bin"); n != 3 {
		t.Errorf("Count = %d, want 3", n)
	}
	if r := httpDo(t, c, "PUT", srv.URL+"/new", strings.NewReader("x")); r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT without WithPut: %d, want 405", r.status)
	}
}

func TestHTTPFailThenServe(t *testing.T) {
	root := t.TempDir()
	httpFixture(t, root, "f", 10)
	srv := NewHTTPServer(t, root)
	srv.Fail("/f", 500, 429)
	srv.RetryAfter("/f", 3)
	c := srv.Client()
	for i, want := range []int{500, 429, 200, 200} {
		r := httpDo(t, c, "GET", srv.URL+"/f", nil)
		if r.status != want {
			t.Errorf("request %d: %d, want %d", i, r.status, want)
		}
		if ra := r.header.Get("Retry-After"); (want != 200) != (ra == "3") {
			t.Errorf("request %d: Retry-After %q", i, ra)
		}
	}
	if n := srv.Count("/f"); n != 4 {
		t.Errorf("Count = %d, want 4", n)
	}
}

func httpCut(t *testing.T, opts ...HTTPOption) {
	root := t.TempDir()
	data := httpFixture(t, root, "big", 1<<20)
	srv := NewHTTPServer(t, root, opts...)
	srv.CutAfter("/big", 300_000)
	c := srv.Client()
	r := httpDo(t, c, "GET", srv.URL+"/big", nil)
	if r.err == nil || len(r.body) > 300_000 || !bytes.Equal(r.body, data[:len(r.body)]) {
		t.Fatalf("cut GET: %d bytes, %v; want at most 300000 and an error", len(r.body), r.err)
	}
	if !strings.HasPrefix(srv.URL, "https") && (len(r.body) != 300_000 || !errors.Is(r.err, io.ErrUnexpectedEOF)) {
		t.Errorf("cut GET over HTTP/1.1: %d bytes, %v; want exactly 300000 then io.ErrUnexpectedEOF", len(r.body), r.err)
	}
	if r := httpDo(t, c, "GET", srv.URL+"/big", nil); r.err != nil || !bytes.Equal(r.body, data) {
		t.Errorf("GET after the cut: %d bytes, %v; want the whole file", len(r.body), r.err)
	}
}

func TestHTTPCutAfter(t *testing.T)      { httpCut(t) }
func TestHTTPCutAfterHTTP2(t *testing.T) { httpCut(t, WithTLS()) }

func TestHTTPCutAfterNotLongEnough(t *testing.T) {
	root := t.TempDir()
	httpFixture(t, root, "small", 10)
	data := httpFixture(t, root, "big", 1000)
	srv := NewHTTPServer(t, root)
	srv.CutAfter("/big", 100)
	c := srv.Client()
	// A HEAD and a short range do not use the cut up.
	httpDo(t, c, "HEAD", srv.URL+"/big", nil)
	if r := httpDo(t, c, "GET", srv.URL+"/big", nil, "Range", "bytes=0-9"); r.err != nil || r.status != 206 {
		t.Fatalf("short range: %d %v", r.status, r.err)
	}
	if r := httpDo(t, c, "GET", srv.URL+"/big", nil); r.err == nil || len(r.body) != 100 {
		t.Errorf("GET: %d bytes, %v; want it cut after 100", len(r.body), r.err)
	}
	if r := httpDo(t, c, "GET", srv.URL+"/big", nil); r.err != nil || !bytes.Equal(r.body, data) {
		t.Errorf("second GET: %d bytes, %v", len(r.body), r.err)
	}
}

func TestHTTPSlowAndStall(t *testing.T) {
	root := t.TempDir()
	data := httpFixture(t, root, "f", 100_000)
	srv := NewHTTPServer(t, root)
	srv.Slow("/f", 200*time.Millisecond)
	srv.StallAfter("/f", 1000, 300*time.Millisecond)
	c := srv.Client()
	start := time.Now()
	if r := httpDo(t, c, "GET", srv.URL+"/f", nil); r.err != nil || !bytes.Equal(r.body, data) {
		t.Fatalf("GET: %d bytes, %v", len(r.body), r.err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("slow and stalled GET took %v, want at least 500ms", d)
	}
	start = time.Now()
	httpDo(t, c, "GET", srv.URL+"/f", nil)
	if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Errorf("second GET took %v, want the 200ms delay without the one-shot stall", d)
	}
}

func TestHTTPIgnoreRange(t *testing.T) {
	root := t.TempDir()
	data := httpFixture(t, root, "f", 1000)
	srv := NewHTTPServer(t, root)
	srv.IgnoreRange("/f")
	if r := httpDo(t, srv.Client(), "GET", srv.URL+"/f", nil, "Range", "bytes=10-"); r.status != 200 || !bytes.Equal(r.body, data) {
		t.Errorf("GET with Range: %d, %d bytes; want 200 and the whole file", r.status, len(r.body))
	}
	if got := srv.Requests("/f"); len(got) != 1 || got[0].Range != "bytes=10-" {
		t.Errorf("Requests: %+v", got)
	}
}

func TestHTTPRedirects(t *testing.T) {
	srv := NewHTTPServer(t, t.TempDir(), WithPut())
	srv.Redirect("/a", "/b")
	srv.Redirect("/abs", "http://example.invalid/x")
	srv.RedirectLoop("/loop")
	c := srv.Client()
	if r := httpDo(t, c, "GET", srv.URL+"/a", nil); r.status != 302 || r.header.Get("Location") != "/b" {
		t.Errorf("GET /a: %d %q", r.status, r.header.Get("Location"))
	}
	if r := httpDo(t, c, "PUT", srv.URL+"/a", strings.NewReader("x")); r.status != 307 {
		t.Errorf("PUT /a: %d, want 307", r.status)
	}
	if r := httpDo(t, c, "GET", srv.URL+"/abs", nil); r.header.Get("Location") != "http://example.invalid/x" {
		t.Errorf("GET /abs: Location %q", r.header.Get("Location"))
	}
	r := httpDo(t, c, "GET", srv.URL+"/loop", nil)
	if r.status != 302 || r.header.Get("Location") != "/loop?loop=1" {
		t.Errorf("GET /loop: %d %q", r.status, r.header.Get("Location"))
	}
	r = httpDo(t, c, "GET", srv.URL+"/loop?loop=1", nil)
	if r.status != 302 || r.header.Get("Location") != "/loop" {
		t.Errorf("GET /loop?loop=1: %d %q", r.status, r.header.Get("Location"))
	}
	// A real client gives up.
	if _, err := http.Get(srv.URL + "/loop"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("following the loop: %v", err)
	}
}

func TestHTTPRequireHeader(t *testing.T) {
	root := t.TempDir()
	httpFixture(t, root, "f", 10)
	srv := NewHTTPServer(t, root)
	srv.RequireHeader("authorization", "Bearer s3cret")
	c := srv.Client()
	if r := httpDo(t, c, "GET", srv.URL+"/f", nil); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("without the header: %d", r.status)
	}
	if r := httpDo(t, c, "GET", srv.URL+"/f", nil, "Authorization", "Bearer nope"); r.status != 403 {
		t.Errorf("with a wrong value: %d", r.status)
	}
	if r := httpDo(t, c, "GET", srv.URL+"/f", nil, "Authorization", "Bearer s3cret"); r.status != 200 {
		t.Errorf("with the header: %d", r.status)
	}
	if got := srv.Requests("/f"); len(got) != 3 || got[2].Header.Get("Authorization") != "Bearer s3cret" {
		t.Errorf("Requests do not record the headers: %+v", got)
	}
}

func TestHTTPHandle(t *testing.T) {
	srv := NewHTTPServer(t, t.TempDir())
	srv.Handle("/custom", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="../evil"`)
		fmt.Fprint(w, "custom")
	}))
	srv.Fail("/custom", 503)
	c := srv.Client()
	if r := httpDo(t, c, "GET", srv.URL+"/custom", nil); r.status != 503 {
		t.Errorf("first: %d, want the injected 503", r.status)
	}
	if r := httpDo(t, c, "GET", srv.URL+"/custom", nil); string(r.body) != "custom" {
		t.Errorf("second: %d %q", r.status, r.body)
	}
}

func TestHTTPPut(t *testing.T) {
	root := t.TempDir()
	srv := NewHTTPServer(t, root, WithPut(), WithMaxPutBytes(1000))
	c := srv.Client()
	if r := httpDo(t, c, "PUT", srv.URL+"/a/b/c.txt", strings.NewReader("first")); r.status != http.StatusCreated {
		t.Errorf("PUT new: %d", r.status)
	}
	if r := httpDo(t, c, "PUT", srv.URL+"/a/b/c.txt", strings.NewReader("second")); r.status != http.StatusNoContent {
		t.Errorf("PUT over: %d", r.status)
	}
	if b, err := os.ReadFile(filepath.Join(root, "a/b/c.txt")); err != nil || string(b) != "second" {
		t.Errorf("after PUT: %q %v", b, err)
	}
	if r := httpDo(t, c, "PUT", srv.URL+"/big", bytes.NewReader(make([]byte, 1001))); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("PUT too large: %d", r.status)
	}
	if r := httpDo(t, c, "PUT", srv.URL+"/a/b/c.txt/below", strings.NewReader("x")); r.status != http.StatusConflict {
		t.Errorf("PUT below a file: %d", r.status)
	}
	if r := httpDo(t, c, "PUT", srv.URL+"/a/", strings.NewReader("x")); r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT of a folder: %d", r.status)
	}

	// A body cut short never becomes the object.
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /partial HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
	time.Sleep(50 * time.Millisecond)
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Count("/partial") == 0 || srv.Requests("/partial")[0].Status == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server never finished the cut PUT")
		}
		time.Sleep(10 * time.Millisecond)
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if e.Name() != "a" {
			t.Errorf("left behind after failed PUTs: %s", e.Name())
		}
	}
}

func TestHTTPTLS(t *testing.T) {
	root := t.TempDir()
	data := httpFixture(t, root, "f", 100)
	srv := NewHTTPServer(t, root, WithTLS())
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") || srv.CAFile == "" {
		t.Fatalf("URL %q CAFile %q", srv.URL, srv.CAFile)
	}
	if r := httpDo(t, srv.Client(), "GET", srv.URL+"/f", nil); r.status != 200 || !bytes.Equal(r.body, data) {
		t.Errorf("GET with the CA: %d", r.status)
	}
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil || !x509.NewCertPool().AppendCertsFromPEM(pem) {
		t.Errorf("CAFile holds no certificate: %v", err)
	}
	_, err = http.Get(srv.URL + "/f")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("GET without the CA: %v, want an unknown authority", err)
	}
}
