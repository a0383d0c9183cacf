package redact

import (
	"net/url"
	"strings"
)

// The one place a URL loses its credentials, in the two forms mmbuild
// writes one: URL for messages and published records (the user and query
// marked), WithoutCredentials for a repository recorded as the source.

// URL returns a URL fit for messages: its user name, password and
// query replaced (a user name alone is often a token). An unparsable URL is
// never echoed.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	return u.String()
}

// WithoutCredentials removes a user and password from a URL, keeping the
// rest: the form a URL is recorded in (an attestation's source). A string that does not parse as a URL loses
// everything between "://" and its last "@".
func WithoutCredentials(raw string) string {
	u, err := url.Parse(raw)
	if err == nil {
		if u.User == nil {
			return raw
		}
		u.User = nil
		return u.String()
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	// A password may hold "/" and break the URL: drop everything up to the
	// last "@" before any query or fragment.
	end := len(rest)
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		end = i
	}
	if i := strings.LastIndexByte(rest[:end], '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return scheme + "://" + rest
}
