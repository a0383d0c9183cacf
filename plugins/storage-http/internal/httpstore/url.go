package httpstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// parseURL checks an http(s) URL given by the core.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", storage.ErrInvalidURL, parseCause(err))
	}
	invalid := func(why string) (*url.URL, error) {
		return nil, fmt.Errorf("%w: %s: %s", storage.ErrInvalidURL, redact(u), why)
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

// parseCause drops the *url.Error around a parsing error: it repeats the
// whole URL, user info and query included.
func parseCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact returns u for an error or a log line: without user info, with the
// query replaced by REDACTED, without a fragment.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" || c.ForceQuery {
		c.RawQuery, c.ForceQuery = "REDACTED", false
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
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
