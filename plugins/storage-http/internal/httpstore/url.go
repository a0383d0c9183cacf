package httpstore

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/mmbuild/mmbuild/sdk/redact"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// parseURL checks an http(s) URL given by the core.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", storage.ErrInvalidURL, redact.URLError(err))
	}
	invalid := func(why string) (*url.URL, error) {
		return nil, fmt.Errorf("%w: %s: %s", storage.ErrInvalidURL, redact.URL(u.String()), why)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return invalid("not an http:// or https:// URL")
	case u.User != nil:
		return invalid("credentials in URLs are refused; use a secret")
	case u.Opaque != "" || u.Hostname() == "":
		return invalid("want http(s)://host/path")
	case strings.Contains(raw, "#"):
		return invalid("a fragment is never sent to a server: remove it")
	}
	return u, nil
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
