package testservers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bounds that keep a misbehaving test from hanging or filling the disk.
const (
	// MaxHTTPDelay bounds Slow and StallAfter.
	MaxHTTPDelay = time.Minute
	// DefaultMaxPutBytes is the largest PUT body accepted unless
	// WithMaxPutBytes says otherwise.
	DefaultMaxPutBytes = 256 << 20
	maxLoggedRequests  = 10_000
	shutdownWait       = 10 * time.Second
)

// HTTPServer is a real net/http server on 127.0.0.1 serving the regular
// files under Root (GET and HEAD, with Range, If-Range and ETag through
// http.ServeContent), optionally accepting PUT into Root, with failure modes
// set per URL path. Start it with NewHTTPServer; it is closed when the test
// ends.
//
// Behaviours apply to the exact URL path they name ("/dir/file.bin"), in this
// order: RequireHeader (every path), Slow, Fail, Handle, RedirectLoop,
// Redirect, then the file itself with IgnoreRange, CutAfter and StallAfter.
// They may be set or changed while the server runs.
type HTTPServer struct {
	// URL is the base URL, "http://127.0.0.1:PORT" or "https://…" with
	// WithTLS, without a trailing slash.
	URL string
	// Root is the folder served.
	Root string
	// CAFile is a PEM file holding the test CA that signed the server's
	// certificate (WithTLS only, else ""). It lives in a t.TempDir().
	CAFile string

	tb     testing.TB
	opts   httpOptions
	root   *os.Root
	srv    *http.Server
	caPool *x509.CertPool
	done   chan struct{} // closed when the server shuts down

	mu       sync.Mutex
	closed   bool
	running  sync.WaitGroup
	paths    map[string]*pathBehaviour
	required map[string]string // canonical header name → value
	log      []HTTPRequest
	counts   map[string]int
}

// HTTPRequest is one request the server received.
type HTTPRequest struct {
	Method string
	Path   string      // the URL path as received
	Query  string      // the raw query, without "?"
	Range  string      // the Range header, "" when absent
	Header http.Header // a copy of the request headers
	Status int         // the status answered (0 while running or when cut before it)
}

type httpOptions struct {
	tls    bool
	put    bool
	maxPut int64
}

// HTTPOption configures NewHTTPServer.
type HTTPOption func(*httpOptions)

// WithTLS serves HTTPS (HTTP/2 and HTTP/1.1) with a certificate for
// 127.0.0.1, ::1 and localhost, signed by a CA generated for this server and
// written to HTTPServer.CAFile. Default: plain HTTP.
func WithTLS() HTTPOption { return func(o *httpOptions) { o.tls = true } }

// WithPut makes PUT write the request body to the file the path names under
// Root, creating parent folders; the file is replaced atomically once the
// whole body arrived, so readers never see a partial object. Default: PUT is
// answered 405 Method Not Allowed.
func WithPut() HTTPOption { return func(o *httpOptions) { o.put = true } }

// WithMaxPutBytes bounds a PUT body (413 beyond it). Default:
// DefaultMaxPutBytes.
func WithMaxPutBytes(n int64) HTTPOption { return func(o *httpOptions) { o.maxPut = n } }

type pathBehaviour struct {
	fail        []int
	retryAfter  string
	slow        time.Duration
	handler     http.Handler
	loop        bool
	redirect    string
	ignoreRange bool
	cutAfter    int64 // -1: none
	stallAfter  int64 // -1: none
	stallFor    time.Duration
}

// NewHTTPServer serves root on a free port of 127.0.0.1 until the test ends.
func NewHTTPServer(t testing.TB, root string, opts ...HTTPOption) *HTTPServer {
	t.Helper()
	o := httpOptions{maxPut: DefaultMaxPutBytes}
	for _, opt := range opts {
		opt(&o)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatalf("testservers: opening %s: %v", root, err)
	}
	s := &HTTPServer{
		Root: root, tb: t, opts: o, root: r, done: make(chan struct{}),
		paths: map[string]*pathBehaviour{}, required: map[string]string{}, counts: map[string]int{},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.Close()
		t.Fatalf("testservers: listen: %v", err)
	}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0), // handshake errors are expected in tests
	}
	scheme := "http"
	if o.tls {
		scheme = "https"
		cert, caPEM, err := newTestCA()
		if err != nil {
			l.Close()
			r.Close()
			t.Fatalf("testservers: test CA: %v", err)
		}
		s.CAFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(s.CAFile, caPEM, 0o644); err != nil {
			l.Close()
			r.Close()
			t.Fatalf("testservers: %v", err)
		}
		s.caPool = x509.NewCertPool()
		s.caPool.AppendCertsFromPEM(caPEM)
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.URL = scheme + "://" + l.Addr().String()
	go func() {
		if o.tls {
			_ = s.srv.ServeTLS(l, "", "")
		} else {
			_ = s.srv.Serve(l)
		}
	}()
	t.Cleanup(s.close)
	return s
}

// close stops the server and waits (bounded) for running handlers, so that
// nothing writes into Root once the test's cleanup removes it.
func (s *HTTPServer) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.done)
	_ = s.srv.Close()
	finished := make(chan struct{})
	go func() { s.running.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(shutdownWait):
	}
	_ = s.root.Close()
}

// Client returns an HTTP client that trusts the server's CA (WithTLS) and
// does not follow redirects, so tests see exactly what the server answers.
func (s *HTTPServer) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.caPool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.caPool, MinVersion: tls.VersionTLS12}
	}
	s.tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// behaviour returns the settings of path, creating them; call with s.mu held.
func (s *HTTPServer) behaviour(p string) *pathBehaviour {
	p = cleanKey(p)
	b, ok := s.paths[p]
	if !ok {
		b = &pathBehaviour{cutAfter: -1, stallAfter: -1}
		s.paths[p] = b
	}
	return b
}

func cleanKey(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// Fail answers the next requests for path with the given statuses, one each,
// before serving it normally: Fail("/f", 500, 503) fails twice.
func (s *HTTPServer) Fail(p string, statuses ...int) {
	for _, code := range statuses {
		if code < 100 || code > 999 {
			s.tb.Fatalf("testservers: Fail(%q): invalid status %d", p, code)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.behaviour(p)
	b.fail = append(b.fail, statuses...)
}

// RetryAfter adds "Retry-After: seconds" to the failures Fail injects on
// path.
func (s *HTTPServer) RetryAfter(p string, seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviour(p).retryAfter = strconv.Itoa(seconds)
}

// Slow waits delay (at most MaxHTTPDelay) before answering each request for
// path, headers included. The wait ends early when the client goes away or
// the server closes.
func (s *HTTPServer) Slow(p string, delay time.Duration) {
	if delay < 0 || delay > MaxHTTPDelay {
		s.tb.Fatalf("testservers: Slow(%q, %v): the delay must be within [0, %v]", p, delay, MaxHTTPDelay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviour(p).slow = delay
}

// CutAfter makes the next GET of path that sends more than n body bytes
// send exactly n, then close the connection (hijacked on HTTP/1.1, the
// stream reset on HTTP/2) without finishing the response. Once.
func (s *HTTPServer) CutAfter(p string, n int64) {
	if n < 0 {
		s.tb.Fatalf("testservers: CutAfter(%q, %d): negative", p, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviour(p).cutAfter = n
}

// StallAfter makes the next GET of path that sends more than n body bytes
// pause for delay (at most MaxHTTPDelay) after n bytes, then finish. Once.
func (s *HTTPServer) StallAfter(p string, n int64, delay time.Duration) {
	if n < 0 || delay < 0 || delay > MaxHTTPDelay {
		s.tb.Fatalf("testservers: StallAfter(%q, %d, %v): out of bounds", p, n, delay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.behaviour(p)
	b.stallAfter, b.stallFor = n, delay
}

// IgnoreRange serves path whole (200) even to a Range request, as servers
// without range support do.
func (s *HTTPServer) IgnoreRange(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviour(p).ignoreRange = true
}

// Redirect answers requests for path with a redirect to target (a path or an
// absolute URL, used as given): 302 Found for GET and HEAD, 307 Temporary
// Redirect for other methods, which keeps their method and body.
func (s *HTTPServer) Redirect(p, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviour(p).redirect = target
}

// RedirectLoop makes path redirect to path?loop=1, which redirects back to
// path: a loop a client must detect.
func (s *HTTPServer) RedirectLoop(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviour(p).loop = true
}

// Handle serves path with h instead of the file, after RequireHeader, Slow
// and Fail. Requests are still counted and logged.
func (s *HTTPServer) Handle(p string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviour(p).handler = h
}

// RequireHeader makes every request need the header name with exactly value:
// a request without it is answered 401 Unauthorized, one with another value
// 403 Forbidden. Several headers may be required.
func (s *HTTPServer) RequireHeader(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.required[http.CanonicalHeaderKey(name)] = value
}

// Count returns how many requests path received (any method, any outcome).
func (s *HTTPServer) Count(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[cleanKey(p)]
}

// Requests returns the requests path received, oldest first (the server
// keeps the first 10,000 requests overall).
func (s *HTTPServer) Requests(p string) []HTTPRequest {
	p = cleanKey(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []HTTPRequest
	for _, r := range s.log {
		if r.Path == p {
			r.Header = r.Header.Clone()
			out = append(out, r)
		}
	}
	return out
}

// statusWriter records the status; Unwrap lets http.ResponseController reach
// the connection (Flush, Hijack).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// start registers a request; it returns false once the server is closing.
func (s *HTTPServer) start(r *http.Request) (idx int, b pathBehaviour, required map[string]string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return -1, b, nil, false
	}
	s.running.Add(1)
	s.counts[r.URL.Path]++
	idx = -1
	if len(s.log) < maxLoggedRequests {
		idx = len(s.log)
		s.log = append(s.log, HTTPRequest{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Range: r.Header.Get("Range"), Header: r.Header.Clone(),
		})
	}
	if pb, found := s.paths[r.URL.Path]; found {
		b = *pb
		if len(pb.fail) > 0 {
			pb.fail = pb.fail[1:] // b keeps the one to answer now
		}
	}
	required = make(map[string]string, len(s.required))
	for k, v := range s.required {
		required[k] = v
	}
	return idx, b, required, true
}

// claimInterrupts takes the one-shot CutAfter and StallAfter of path for
// the GET about to be served, so concurrent requests cannot both get them.
func (s *HTTPServer) claimInterrupts(p string) (cut, stall int64, stallFor time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.paths[p]
	if !ok {
		return -1, -1, 0
	}
	cut, stall, stallFor = b.cutAfter, b.stallAfter, b.stallFor
	b.cutAfter, b.stallAfter = -1, -1
	return cut, stall, stallFor
}

// rearm gives back a one-shot behaviour the request did not use (the body
// was not longer than n bytes).
func (s *HTTPServer) rearm(p string, cut, stall int64, stallFor time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.behaviour(p)
	if cut >= 0 && b.cutAfter < 0 {
		b.cutAfter = cut
	}
	if stall >= 0 && b.stallAfter < 0 {
		b.stallAfter, b.stallFor = stall, stallFor
	}
}

func (s *HTTPServer) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	idx, b, required, ok := s.start(r)
	if !ok {
		http.Error(rw, "server closing", http.StatusServiceUnavailable)
		return
	}
	w := &statusWriter{ResponseWriter: rw}
	defer func() {
		s.mu.Lock()
		if idx >= 0 {
			s.log[idx].Status = w.status
		}
		s.mu.Unlock()
		s.running.Done()
	}()

	for name, want := range required {
		got, present := r.Header[name]
		switch {
		case !present:
			w.Header().Set("WWW-Authenticate", `Bearer realm="testservers"`)
			http.Error(w, "missing "+name, http.StatusUnauthorized)
			return
		case len(got) != 1 || subtle.ConstantTimeCompare([]byte(got[0]), []byte(want)) != 1:
			http.Error(w, "wrong "+name, http.StatusForbidden)
			return
		}
	}
	if b.slow > 0 && !s.sleep(r, b.slow) {
		return
	}
	if len(b.fail) > 0 {
		if b.retryAfter != "" {
			w.Header().Set("Retry-After", b.retryAfter)
		}
		http.Error(w, "injected failure", b.fail[0])
		return
	}
	switch {
	case b.handler != nil:
		b.handler.ServeHTTP(w, r)
	case b.loop:
		target := r.URL.Path + "?loop=1"
		if r.URL.Query().Has("loop") {
			target = r.URL.Path
		}
		http.Redirect(w, r, target, http.StatusFound)
	case b.redirect != "":
		code := http.StatusFound
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			code = http.StatusTemporaryRedirect
		}
		w.Header().Set("Location", b.redirect)
		w.WriteHeader(code)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		s.serveFile(w, r, b)
	case r.Method == http.MethodPut && s.opts.put:
		s.put(w, r)
	default:
		allow := "GET, HEAD"
		if s.opts.put {
			allow += ", PUT"
		}
		w.Header().Set("Allow", allow)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// sleep waits d; false when the client went away or the server closes.
func (s *HTTPServer) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}

// fileName turns a URL path into a name inside Root; "" for the root itself.
func fileName(urlPath string) string {
	return strings.TrimPrefix(path.Clean("/"+urlPath), "/")
}

func (s *HTTPServer) serveFile(w http.ResponseWriter, r *http.Request, b pathBehaviour) {
	name := fileName(r.URL.Path)
	if name == "" {
		http.NotFound(w, r)
		return
	}
	f, err := s.root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		http.NotFound(w, r) // missing, below a file, or out of Root
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r) // a folder is not an object
		return
	}
	if b.ignoreRange {
		r.Header.Del("Range")
		r.Header.Del("If-Range")
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
	var out http.ResponseWriter = w
	if r.Method == http.MethodGet {
		if cut, stall, stallFor := s.claimInterrupts(r.URL.Path); cut >= 0 || stall >= 0 {
			iw := &interruptWriter{ResponseWriter: w, s: s, r: r, cutAfter: cut, stallAfter: stall, stallFor: stallFor}
			defer func() {
				if iw.cut {
					cut = -1 // used: not given back
				}
				if iw.stalled {
					stall = -1
				}
				s.rearm(r.URL.Path, cut, stall, stallFor)
			}()
			out = iw
		}
	}
	http.ServeContent(out, r, "", fi.ModTime(), f)
}

// interruptWriter cuts or stalls a response after a number of body bytes.
type interruptWriter struct {
	http.ResponseWriter
	s          *HTTPServer
	r          *http.Request
	cutAfter   int64 // -1: none
	stallAfter int64 // -1: none
	stallFor   time.Duration
	written    int64
	cut        bool
	stalled    bool
}

func (w *interruptWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *interruptWriter) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		limit := int64(len(p))
		if w.stallAfter >= 0 && !w.stalled && w.written+limit > w.stallAfter {
			limit = w.stallAfter - w.written
		}
		if w.cutAfter >= 0 && w.written+limit > w.cutAfter {
			limit = w.cutAfter - w.written
		}
		n, err := w.ResponseWriter.Write(p[:limit])
		total += n
		w.written += int64(n)
		if err != nil {
			return total, err
		}
		p = p[n:]
		if len(p) == 0 {
			break
		}
		if w.stallAfter >= 0 && !w.stalled && w.written == w.stallAfter {
			w.stalled = true
			_ = http.NewResponseController(w.ResponseWriter).Flush()
			if !w.s.sleep(w.r, w.stallFor) {
				return total, errors.New("testservers: client gone during a stall")
			}
			continue
		}
		if w.cutAfter >= 0 && w.written == w.cutAfter {
			w.cut = true
			return total, w.abort()
		}
	}
	return total, nil
}

// abort flushes what was written and closes the connection mid-body.
func (w *interruptWriter) abort() error {
	rc := http.NewResponseController(w.ResponseWriter)
	_ = rc.Flush()
	conn, _, err := rc.Hijack()
	if err != nil {
		// HTTP/2 cannot hijack: abort resets the stream instead.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close() // a FIN: the n bytes sent still arrive
	return errors.New("testservers: connection cut on purpose")
}

// put writes the body to a temporary file beside the target and renames it
// over the target once complete.
func (s *HTTPServer) put(w http.ResponseWriter, r *http.Request) {
	name := fileName(r.URL.Path)
	if name == "" || strings.HasSuffix(r.URL.Path, "/") {
		http.Error(w, "PUT needs a file name", http.StatusMethodNotAllowed)
		return
	}
	dir := path.Dir(name)
	if err := s.root.MkdirAll(dir, 0o755); err != nil {
		http.Error(w, "cannot create the parent folder", http.StatusConflict)
		return
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(dir, ".put-"+hex.EncodeToString(rnd[:])+".tmp")
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		http.Error(w, "cannot create the file", http.StatusInternalServerError)
		return
	}
	n, err := io.Copy(f, http.MaxBytesReader(w, r.Body, s.opts.maxPut))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && r.ContentLength >= 0 && n != r.ContentLength {
		err = fmt.Errorf("got %d of %d bytes", n, r.ContentLength)
	}
	if err != nil {
		_ = s.root.Remove(tmp)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "incomplete body", http.StatusBadRequest)
		return
	}
	_, statErr := s.root.Stat(name)
	if err := s.root.Rename(tmp, name); err != nil {
		_ = s.root.Remove(tmp)
		http.Error(w, "cannot replace the target", http.StatusConflict)
		return
	}
	if statErr != nil {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// newTestCA returns a server certificate for 127.0.0.1, ::1 and localhost
// and the PEM of the CA that signed it, both valid for a day.
func newTestCA() (tls.Certificate, []byte, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
		return n
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "mmbuild testservers CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}, caPEM, nil
}
