package provenance

import (
	"encoding/json"
	"fmt"

	"github.com/mmbuild/mmbuild/core/build/isolation"
)

// IsolationKey names the buildConfig (v0.2) and internalParameters (v1)
// entry that records the box the builder ran in, as applied.
const IsolationKey = "isolation"

// Isolation returns the box the statement records the builder ran in; nil
// when it records none (a statement of an mmbuild before the box, or of
// another builder).
func (r *Record) Isolation() (*isolation.Applied, error) {
	v, ok := r.Extra[IsolationKey]
	if !ok {
		return nil, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("reading the recorded isolation: %w", err)
	}
	var a isolation.Applied
	if err := strictJSON(data, &a); err != nil {
		return nil, fmt.Errorf("reading the recorded isolation: %w", err)
	}
	if _, err := isolation.ParseMode(string(a.Mode)); err != nil || a.Mode == "" {
		return nil, fmt.Errorf("reading the recorded isolation: mode %q", a.Mode)
	}
	if _, err := isolation.ParseNetwork(string(a.Network)); err != nil || a.Network == "" {
		return nil, fmt.Errorf("reading the recorded isolation: network %q", a.Network)
	}
	return &a, nil
}
