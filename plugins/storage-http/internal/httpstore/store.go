package httpstore

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Store is the http:// and https:// backend. It is safe for concurrent use;
// its only state is a cache of HTTP clients, so connections are reused.
type Store struct {
	userAgent string
	getenv    func(string) string
	policy    retryPolicy

	mu      sync.Mutex
	clients map[clientKey]*http.Client
}

var (
	_ storage.Storage = (*Store)(nil)
	_ plugin.Capabler = (*Store)(nil)
	_ plugin.Schemer  = (*Store)(nil)
)

// Option configures New.
type Option func(*Store)

// WithUserAgent sets the User-Agent header. Default: "mmbuild-plugin-http".
func WithUserAgent(ua string) Option { return func(s *Store) { s.userAgent = ua } }

// New returns the http(s) backend.
func New(opts ...Option) *Store {
	s := &Store{
		userAgent: "mmbuild-plugin-http",
		getenv:    os.Getenv,
		policy:    defaultPolicy,
		clients:   map[clientKey]*http.Client{},
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Capabilities announces Put of files, progress and resumed downloads; no
// trees.
func (*Store) Capabilities() []string {
	return []string{storage.CapabilityProgress, storage.CapabilityPut, storage.CapabilityResume}
}

// prepare checks a request's URL and options and returns what a call needs.
func (s *Store) prepare(rawURL string, opts map[string]string) (*callTarget, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	cfg, err := s.config(opts)
	if err != nil {
		return nil, err
	}
	hc, err := s.client(cfg)
	if err != nil {
		return nil, err
	}
	return &callTarget{s: s, hc: hc, cfg: cfg, u: u}, nil
}

// Stat sends HEAD, or GET of the first byte when the server refuses HEAD.
func (s *Store) Stat(ctx context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	t, err := s.prepare(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	var out *storage.StatResponse
	err = s.retry(ctx, "stat", t.u, func(ctx context.Context) error {
		resp, err := s.do(ctx, t.hc, &call{method: http.MethodHead, url: t.u, cfg: t.cfg})
		if err != nil {
			return err
		}
		drainClose(resp)
		switch code := resp.StatusCode; {
		case code == http.StatusMethodNotAllowed || code == http.StatusNotImplemented:
			out, err = t.statByRange(ctx)
			return err
		case code/100 == 2:
			out = &storage.StatResponse{Size: max(resp.ContentLength, -1), ModTime: lastModified(resp)}
			return nil
		default:
			return statusErr(http.MethodHead, resp)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// callTarget is a checked URL with the client and settings for it.
type callTarget struct {
	s   *Store
	hc  *http.Client
	cfg *config
	u   *url.URL
}

// statByRange asks for the first byte; the size comes from Content-Range
// ("bytes 0-0/SIZE", "bytes */0" for an empty object) or Content-Length.
func (t *callTarget) statByRange(ctx context.Context) (*storage.StatResponse, error) {
	h := http.Header{"Range": {"bytes=0-0"}}
	resp, err := t.s.do(ctx, t.hc, &call{method: http.MethodGet, url: t.u, header: h, cfg: t.cfg})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close() // unread: closing costs the connection, not the transfer
	switch resp.StatusCode {
	case http.StatusPartialContent, http.StatusRequestedRangeNotSatisfiable:
		_, size, ok := contentRange(resp.Header.Get("Content-Range"))
		if !ok {
			size = -1
		}
		if resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && size != 0 {
			return nil, statusErr(http.MethodGet, resp)
		}
		return &storage.StatResponse{Size: size, ModTime: lastModified(resp)}, nil
	case http.StatusOK:
		return &storage.StatResponse{Size: max(resp.ContentLength, -1), ModTime: lastModified(resp)}, nil
	}
	return nil, statusErr(http.MethodGet, resp)
}

func lastModified(resp *http.Response) time.Time {
	t, err := http.ParseTime(resp.Header.Get("Last-Modified"))
	if err != nil {
		return time.Time{}
	}
	return t
}

// contentRange parses "bytes START-END/SIZE" or "bytes */SIZE" (start -1);
// size is -1 when given as "*".
func contentRange(v string) (start, size int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	span, total, found := strings.Cut(strings.TrimSpace(rest), "/")
	if !found {
		return 0, 0, false
	}
	size = -1
	if total != "*" {
		n, err := strconv.ParseInt(total, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		size = n
	}
	if span == "*" {
		return -1, size, true
	}
	first, last, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, false
	}
	a, err1 := strconv.ParseInt(first, 10, 64)
	b, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || a < 0 || b < a || (size >= 0 && b >= size) {
		return 0, 0, false
	}
	return a, size, true
}
