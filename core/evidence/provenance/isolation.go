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
	return extra(r, IsolationKey, "the recorded isolation", func(a *isolation.Applied) error {
		if _, err := isolation.ParseMode(string(a.Mode)); err != nil || a.Mode == "" {
			return fmt.Errorf("mode %q", a.Mode)
		}
		if _, err := isolation.ParseNetwork(string(a.Network)); err != nil || a.Network == "" {
			return fmt.Errorf("network %q", a.Network)
		}
		return nil
	})
}

// extra reads the typed entry key of r.Extra strictly, checked by valid;
// nil when there is none.
func extra[T any](r *Record, key, what string, valid func(*T) error) (*T, error) {
	v, ok := r.Extra[key]
	if !ok {
		return nil, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	var out T
	if err := strictJSON(data, &out); err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if err := valid(&out); err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return &out, nil
}
