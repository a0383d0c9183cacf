package httpstore

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mmbuild/mmbuild/sdk/redact"
)

const maxRedirects = 10

// call is one logical HTTP request, sent again at each redirect hop.
type call struct {
	method string
	url    *url.URL
	header http.Header // Range, If-Range
	// body, for a PUT, opens a fresh copy of the body and says its length.
	body func() (io.ReadCloser, int64, error)
	cfg  *config
}

// do sends c and follows redirects: at most maxRedirects, never in a loop,
// never from https to http. It returns the final response, whose body the
// caller closes, or an error that is a *transient when retrying may help.
func (s *Store) do(ctx context.Context, hc *http.Client, c *call) (*http.Response, error) {
	cur := c.url
	seen := map[string]bool{cur.String(): true}
	chain := []string{redact.URL(cur.String())}
	for {
		resp, err := s.send(ctx, hc, c, cur)
		if err != nil {
			return nil, err
		}
		code := resp.StatusCode
		switch code {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
			http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			return resp, nil
		}
		loc := resp.Header.Get("Location")
		drainClose(resp)
		if loc == "" {
			return nil, fmt.Errorf("%d redirect from %s without a Location", code, redact.URL(cur.String()))
		}
		next, err := cur.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("%d redirect from %s to an invalid Location: %v", code, redact.URL(cur.String()), redact.URLError(err))
		}
		next.Fragment, next.RawFragment = "", ""
		switch {
		case next.Scheme != "http" && next.Scheme != "https":
			return nil, fmt.Errorf("%d redirect from %s to a URL that is not http(s): refused", code, redact.URL(cur.String()))
		case cur.Scheme == "https" && next.Scheme == "http":
			return nil, fmt.Errorf("refusing the redirect from %s to %s: it would leave HTTPS for plain HTTP", redact.URL(cur.String()), redact.URL(next.String()))
		case next.User != nil:
			return nil, fmt.Errorf("refusing the redirect from %s to %s: credentials in URLs are refused", redact.URL(cur.String()), redact.URL(next.String()))
		case c.body != nil && code != http.StatusTemporaryRedirect && code != http.StatusPermanentRedirect:
			return nil, fmt.Errorf("%d redirect from %s to %s: a %s follows only 307 and 308, which keep the method and body", code, redact.URL(cur.String()), redact.URL(next.String()), c.method)
		case seen[next.String()]:
			return nil, fmt.Errorf("redirect loop: %s", strings.Join(append(chain, redact.URL(next.String())), " -> "))
		case len(chain) > maxRedirects:
			return nil, fmt.Errorf("stopped after %d redirects: %s -> %s", maxRedirects, strings.Join(chain, " -> "), redact.URL(next.String()))
		}
		seen[next.String()] = true
		chain = append(chain, redact.URL(next.String()))
		cur = next
	}
}

// send makes one request to u. The header option goes only to the origin of
// the URL the core asked for: a redirect to another host (a CDN, a signed
// URL) never receives the credential.
func (s *Store) send(ctx context.Context, hc *http.Client, c *call, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, c.method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("building the request: %v", redact.URLError(err))
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", s.userAgent)
	req.Header.Set("Accept-Encoding", "identity")
	if sameOrigin(c.url, u) {
		for k, v := range c.cfg.header {
			req.Header[k] = v
		}
	}
	if c.body != nil {
		body, n, err := c.body()
		if err != nil {
			return nil, err
		}
		req.ContentLength = n
		req.Body = body
		if n == 0 {
			body.Close()
			req.Body = http.NoBody
		} else {
			// An auth failure or a redirect then costs no upload.
			req.Header.Set("Expect", "100-continue")
		}
		req.GetBody = func() (io.ReadCloser, error) {
			body, _, err := c.body()
			return body, err
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, netError(err, c.cfg)
	}
	return resp, nil
}

// drainClose reads a little of what is left of resp's body, so the
// connection can be reused, and closes it.
func drainClose(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}
