package httpstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/redact"
)

// retryPolicy says how often and how patiently a call is tried.
type retryPolicy struct {
	attempts      int           // in all, the first included
	backoff       time.Duration // the wait before the second attempt, doubled after
	maxBackoff    time.Duration
	retryAfterCap time.Duration // the longest Retry-After honoured
}

var defaultPolicy = retryPolicy{attempts: 5, backoff: 500 * time.Millisecond, maxBackoff: 8 * time.Second, retryAfterCap: 30 * time.Second}

// wait is the pause after failed attempt n (1-based): the server's
// Retry-After when it gave one, else exponential backoff with jitter.
func (p retryPolicy) wait(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, p.retryAfterCap)
	}
	d := p.backoff
	for i := 1; i < n && d < p.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// transient marks an error that another attempt may not meet.
type transient struct {
	err        error
	retryAfter time.Duration // the server's Retry-After, 0 if none
}

func (e *transient) Error() string { return e.err.Error() }
func (e *transient) Unwrap() error { return e.err }

func retryable(err error) error { return &transient{err: err} }

// retry runs attempt until it succeeds, fails for good, or has been tried
// policy.attempts times. Errors name op and the redacted URL; a cancelled
// ctx gives its own error.
func (s *Store) retry(ctx context.Context, op string, u *url.URL, attempt func(context.Context) error) error {
	for n := 1; ; n++ {
		err := ctx.Err()
		if err == nil {
			err = attempt(ctx)
			if err == nil {
				return nil
			}
		}
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("%s %s: %w", op, redact.URL(u.String()), cerr)
		}
		var t *transient
		if !errors.As(err, &t) {
			return fmt.Errorf("%s %s: %w", op, redact.URL(u.String()), err)
		}
		if n >= s.policy.attempts {
			return fmt.Errorf("%s %s: %w (gave up after %d attempts)", op, redact.URL(u.String()), err, n)
		}
		wait := s.policy.wait(n, t.retryAfter)
		plugin.Logger().Info("retrying", "op", op, "url", redact.URL(u.String()), "attempt", n+1, "in", wait.String(), "error", err.Error())
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%s %s: %w", op, redact.URL(u.String()), ctx.Err())
		case <-timer.C:
		}
	}
}

// netError turns an error of http.Client.Do into ours: without the
// *url.Error (which names the URL in full), transient unless retrying cannot
// help (an untrusted certificate, an unknown host).
func netError(err error, cfg *config) error {
	err = redact.URLError(err) // a *url.Error repeats the raw URL
	var (
		ne         net.Error
		unknownCA  x509.UnknownAuthorityError
		badHost    x509.HostnameError
		badCert    x509.CertificateInvalidError
		verify     *tls.CertificateVerificationError
		dnsErr     *net.DNSError
		tlsRecord  tls.RecordHeaderError
		notTrusted = "the server's TLS certificate is not trusted (give its CA with the ca_file option or SSL_CERT_FILE)"
	)
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		// %v: net/http's timeouts match context.DeadlineExceeded, which
		// would tell the core its own deadline passed.
		return retryable(fmt.Errorf("timeout after %s (option timeout or %s): %v", cfg.timeout, envTimeout, err))
	case errors.As(err, &badHost):
		return fmt.Errorf("the server's TLS certificate is for another host: %w", err)
	case errors.As(err, &unknownCA), errors.As(err, &badCert), errors.As(err, &verify):
		return fmt.Errorf("%s: %w", notTrusted, err)
	case errors.As(err, &tlsRecord):
		return fmt.Errorf("TLS handshake failed (is it an https URL for a plain HTTP server?): %w", err)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return err
	}
	return retryable(err)
}

// statusError is a response status the caller did not expect. It matches
// the storage contract's sentinels with errors.Is.
type statusError struct {
	code     int
	hint     string
	sentinel error
}

func (e *statusError) Error() string {
	msg := strconv.Itoa(e.code)
	if text := http.StatusText(e.code); text != "" {
		msg += " " + text // not the server's reason phrase: it is the server's text
	}
	if e.hint != "" {
		msg += ": " + e.hint
	}
	return msg
}

func (e *statusError) Unwrap() error { return e.sentinel }

// statusErr describes an unwanted response to a method: a sentinel of the
// storage contract, a *transient, or a plain error.
func statusErr(method string, resp *http.Response) error {
	e := &statusError{code: resp.StatusCode}
	switch c := resp.StatusCode; {
	case c == http.StatusNotFound || c == http.StatusGone:
		e.sentinel = fs.ErrNotExist
	case c == http.StatusUnauthorized || c == http.StatusForbidden || c == http.StatusProxyAuthRequired:
		e.sentinel = fs.ErrPermission
		e.hint = "credentials refused or missing (options header or authorization)"
	case method == http.MethodPut && (c == http.StatusMethodNotAllowed || c == http.StatusNotImplemented):
		e.sentinel = errors.ErrUnsupported
		e.hint = "the server does not take uploads"
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests ||
		c >= 500 && c != http.StatusNotImplemented && c != http.StatusHTTPVersionNotSupported:
		return &transient{err: e, retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return e
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
