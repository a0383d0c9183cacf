package verify

import (
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

func TestPolicyIsolation(t *testing.T) {
	full := isolation.Spec{Request: isolation.Request{Mode: isolation.ModeAuto, Network: isolation.NetworkNone}}.Applied()
	required := isolation.Spec{Request: isolation.Request{Mode: isolation.ModeRequired, Network: isolation.NetworkHost}}.Applied()
	weak := isolation.Off(isolation.ModeAuto, "bubblewrap (bwrap) is not installed")
	off := isolation.Off(isolation.ModeOff, "")
	rec := func(a *isolation.Applied) *provenance.Record {
		r := &provenance.Record{}
		if a != nil {
			r.Config.Isolation = a
		}
		return r
	}
	for _, tc := range []struct {
		name         string
		want         PolicyIsolation
		got          *isolation.Applied
		box, network Status
		inBox, inNet string
	}{
		{"no requirement", PolicyIsolation{}, off, Skipped, Skipped, "", ""},
		{"auto, full box", PolicyIsolation{Mode: "auto"}, full, Pass, Skipped, "bubblewrap", ""},
		{"auto, fell back", PolicyIsolation{Mode: "auto"}, weak, Fail, Skipped, "not installed", ""},
		{"auto, off", PolicyIsolation{Mode: "auto"}, off, Fail, Skipped, "mode off", ""},
		{"required, asked auto", PolicyIsolation{Mode: "required"}, full, Fail, Skipped, "asked for as auto", ""},
		{"required, asked required", PolicyIsolation{Mode: "required"}, required, Pass, Skipped, "", ""},
		{"network none, none", PolicyIsolation{Network: "none"}, full, Skipped, Pass, "", "none"},
		{"network none, host", PolicyIsolation{Mode: "required", Network: "none"}, required, Pass, Fail, "", "host network"},
		{"network none, unboxed", PolicyIsolation{Network: "none"}, off, Skipped, Fail, "", "host"},
		{"nothing recorded", PolicyIsolation{Mode: "auto", Network: "none"}, nil, Fail, Fail, "records no box", "records no box"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			box, network := policyIsolation(&Policy{Isolation: &tc.want}, rec(tc.got))
			for _, c := range []struct {
				got    Check
				status Status
				detail string
			}{{box, tc.box, tc.inBox}, {network, tc.network, tc.inNet}} {
				if c.got.Status != c.status || !strings.Contains(c.got.Detail, c.detail) {
					t.Errorf("%s: %s %q, want %s with %q", c.got.Name, c.got.Status, c.got.Detail, c.status, c.detail)
				}
			}
		})
	}
}
