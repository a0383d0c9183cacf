package gitstore

import (
	"fmt"
	"strings"
)

// causeError is an error with its own message that still matches the
// errors it stands for (a sentinel of the storage contract, the original
// error), so that errors.Is works without the sentinel's text ("file does
// not exist") in the message.
type causeError struct {
	msg  string
	errs []error
}

func (e *causeError) Error() string   { return e.msg }
func (e *causeError) Unwrap() []error { return e.errs }

// because returns an error reading like format, matching each of causes.
func because(causes []error, format string, args ...any) error {
	return &causeError{msg: fmt.Sprintf(format, args...), errs: causes}
}

// redactedError hides a secret in an error's message and keeps what it
// matches.
type redactedError struct {
	err    error
	secret string
}

func (e *redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.secret, "***")
}

func (e *redactedError) Unwrap() error { return e.err }

// redact hides secret in err's message, when both are set.
func redact(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	return &redactedError{err: err, secret: secret}
}
