package ocistore

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// maxMessage bounds the part of an error message that comes from the
// registry (an HTML error page, a long list of diagnostics).
const maxMessage = 400

// opError is one failed step of a call ("reading the manifest: GET
// http://…: MANIFEST_UNKNOWN: …"), one line, with the storage sentinel the cause amounts to (fs.ErrNotExist
// for an unknown manifest, repository or blob; fs.ErrPermission for a
// refused credential) for errors.Is. Its message never holds a credential.
type opError struct {
	msg      string
	sentinel error // nil when none applies
	cause    error
}

func (e *opError) Error() string { return e.msg }

func (e *opError) Unwrap() []error {
	if e.sentinel == nil {
		return []error{e.cause}
	}
	return []error{e.sentinel, e.cause}
}

// fail wraps err, the cause of step failing, in one line without the
// secrets of cfg. The core names the operation and the URL around it.
func fail(step string, cfg *config, err error) error {
	var secrets []string
	if cfg != nil {
		secrets = cfg.secrets
	}
	return &opError{msg: step + ": " + scrub(err.Error(), secrets), sentinel: sentinel(err), cause: err}
}

// sentinel maps a registry's answer to the storage contract's sentinels.
func sentinel(err error) error {
	for _, s := range []error{context.Canceled, context.DeadlineExceeded, fs.ErrNotExist, fs.ErrPermission} {
		if errors.Is(err, s) {
			return nil // already there
		}
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return nil
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
			return fs.ErrNotExist
		case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
			return fs.ErrPermission
		}
	}
	switch te.StatusCode {
	case http.StatusNotFound:
		return fs.ErrNotExist
	case http.StatusUnauthorized, http.StatusForbidden:
		return fs.ErrPermission
	}
	return nil
}

// queryRE matches the query of a URL in a message: a redirect to a
// storage backend may carry a signature there.
var queryRE = regexp.MustCompile(`(https?://[^\s?"']*)\?[^\s"']*`)

// scrub makes msg one line, bounded, without a URL's query nor any of
// secrets.
func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	msg = queryRE.ReplaceAllString(msg, "$1?[redacted]")
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	return msg
}
