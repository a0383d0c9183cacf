package testservers

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Front is the loopback address clients of one service of the local Sigstore
// stack talk to: an in-process HTTP server in front of the real one (a
// reverse proxy to Fulcio, Rekor or the timestamp authority, or the OIDC
// issuer itself). A test makes the service answer an error status (Fail) or
// be down (Down) and brings it back (Up) while the stack runs; the URL stays
// the same, so the trusted root and signing configuration stay valid.
type Front struct {
	// URL is http://127.0.0.1:<port> (https:// for local-kms), without a
	// trailing slash.
	URL string

	t         testing.TB
	addr      string
	handler   http.Handler
	tlsConfig *tls.Config // nil: plain HTTP

	mu     sync.Mutex
	srv    *http.Server // nil while down
	status int          // non-zero: every request is answered with it
	count  int          // requests that reached the handler
	closed bool
}

// newFront serves h on a free port of 127.0.0.1 until the test ends, over
// TLS with cert when it is not nil.
func newFront(t testing.TB, h http.Handler, cert *tls.Certificate) (*Front, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Front{t: t, addr: l.Addr().String(), handler: h}
	f.URL = "http://" + f.addr
	if cert != nil {
		f.tlsConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
		f.URL = "https://" + f.addr
	}
	f.serve(l)
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.closed = true
		if f.srv != nil {
			_ = f.srv.Close()
			f.srv = nil
		}
	})
	return f, nil
}

// newProxyFront is newFront with a reverse proxy to backend (a base URL).
func newProxyFront(t testing.TB, backend string, cert *tls.Certificate) (*Front, error) {
	u, err := url.Parse(backend)
	if err != nil {
		return nil, err
	}
	return newFront(t, newProxy(u), cert)
}

// newProxy forwards to u, answering 502 when u does not answer.
func newProxy(u *url.URL) *httputil.ReverseProxy {
	p := httputil.NewSingleHostReverseProxy(u)
	p.ErrorLog = log.New(io.Discard, "", 0) // a stopped backend is expected in tests
	return p
}

// serve starts an http.Server on l; call with f.mu held or before f is shared.
func (f *Front) serve(l net.Listener) {
	srv := &http.Server{
		Handler:           http.HandlerFunc(f.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	if f.tlsConfig != nil {
		l = tls.NewListener(l, f.tlsConfig)
	}
	f.srv = srv
	go func() { _ = srv.Serve(l) }()
}

func (f *Front) serveHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	status := f.status
	if status == 0 {
		f.count++
	}
	f.mu.Unlock()
	if status != 0 {
		http.Error(w, "testservers: this service was told to fail", status)
		return
	}
	f.handler.ServeHTTP(w, r)
}

// Fail makes every request from now on answered with status (e.g.
// http.StatusServiceUnavailable) without reaching the service, until Up.
func (f *Front) Fail(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = status
}

// Down closes the listener and every open connection: a client's connection
// is refused until Up.
func (f *Front) Down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		_ = f.srv.Close()
		f.srv = nil
	}
}

// Up undoes Fail and Down: requests reach the service again, on the same
// address. It fails the test if the port was taken while down.
func (f *Front) Up() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = 0
	if f.srv != nil || f.closed {
		return
	}
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		f.t.Fatalf("testservers: listening on %s again: %v", f.addr, err)
	}
	f.serve(l)
}

// Requests is how many requests reached the service (not those Fail
// answered, nor those refused while Down).
func (f *Front) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count
}
