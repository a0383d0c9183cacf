package provenance

import (
	"errors"

	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
)

// CIKey names the buildConfig (v0.2) and internalParameters (v1) entry
// that records the CI job that ran the build: per-run facts, like the
// times and the invocation id outside what makes two statements of the
// same inputs equal.
const CIKey = "ci"

// CI returns the CI job the statement records; nil when it records none
// (a build outside CI, or another builder's statement).
func (r *Record) CI() (*cifacts.Facts, error) {
	return extra(r, CIKey, "the recorded CI job", func(f *cifacts.Facts) error {
		if f.Platform == "" {
			return errors.New("no platform")
		}
		return nil
	})
}
