// Package redact makes URLs fit for errors and log lines: a plugin that
// echoes the URL it was given must not spread credentials a user put in it.
package redact

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Marker replaces what URL hides.
const Marker = "REDACTED"

// URL returns raw fit for a message: user info (a user name alone is
// often a token) becomes REDACTED@, a query becomes ?REDACTED (it often
// holds a signature or a token) and a fragment is dropped. It works on
// the text, so an unparsable URL is redacted too; a string without
// "://" or a leading "//" has no authority and keeps only the query rule.
func URL(raw string) string {
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i] + "?" + Marker
	}
	prefix, rest, ok := strings.Cut(raw, "://")
	if ok {
		prefix += "://"
	} else if rest, ok = strings.CutPrefix(raw, "//"); ok {
		prefix = "//"
	} else {
		return raw
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority = rest[:i]
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		return prefix + Marker + "@" + rest[at+1:]
	}
	return raw
}

// QuoteURL is URL(raw) quoted as %q quotes it, for a message that shows
// where the URL starts and ends.
func QuoteURL(raw string) string { return strconv.Quote(URL(raw)) }

// URLError returns err without the *url.Error that url.Parse and
// http.Client.Do wrap around it, whose message repeats the whole URL, user
// info and query included. Other errors are returned as they are.
func URLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Error returns err with every non-empty secret in its message replaced by
// REDACTED; errors.Is and errors.As still see err. A nil err stays nil.
// Use it around what a library returns when the plugin was given a token
// it may echo (a URL it built, a header it logs).
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var kept []string
	for _, s := range secrets {
		if s != "" {
			kept = append(kept, s)
		}
	}
	if len(kept) == 0 {
		return err
	}
	return &secretError{err: err, secrets: kept}
}

type secretError struct {
	err     error
	secrets []string
}

func (e *secretError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, Marker)
	}
	return msg
}

func (e *secretError) Unwrap() error { return e.err }
