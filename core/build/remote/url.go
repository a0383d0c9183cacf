package remote

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/redact"
)

// Scheme returns the lower-cased scheme of a URL. where names the config
// entry in errors. A URL carrying a password is refused: credentials reach
// a plugin through credentials:, never inside a URL.
func Scheme(raw, where string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// A *url.Error quotes the whole URL, credentials and all: keep
		// only what is wrong with it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("%s: invalid URL %s: %w", where, Redact(raw), err)
	}
	if u.Scheme == "" {
		return "", fmt.Errorf("%s: %q is not a URL (no scheme such as file:// or s3://)", where, Redact(raw))
	}
	if u.User != nil {
		return "", fmt.Errorf("%s: credentials in URL %s are refused: use credentials: and a secret", where, Redact(raw))
	}
	return strings.ToLower(u.Scheme), nil
}

// Redact returns a URL fit for messages (redact.URL).
func Redact(raw string) string { return redact.URL(raw) }

// Join appends one path element to a base URL.
func Join(base, elem string) string {
	return strings.TrimSuffix(base, "/") + "/" + elem
}
