package provenance

import (
	"encoding/json"
	"fmt"

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
	v, ok := r.Extra[CIKey]
	if !ok {
		return nil, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("reading the recorded CI job: %w", err)
	}
	var f cifacts.Facts
	if err := strictJSON(data, &f); err != nil {
		return nil, fmt.Errorf("reading the recorded CI job: %w", err)
	}
	if f.Platform == "" {
		return nil, fmt.Errorf("reading the recorded CI job: no platform")
	}
	return &f, nil
}
