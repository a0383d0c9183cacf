package gitstore

import (
	"fmt"
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
