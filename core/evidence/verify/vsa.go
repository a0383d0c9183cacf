package verify

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/vsa"
)

// isVSA reports whether a payload says it is a verification summary.
func isVSA(payload []byte) bool {
	var h struct {
		PredicateType string `json:"predicateType"`
	}
	return json.Unmarshal(payload, &h) == nil && h.PredicateType == vsa.PredicateType
}

// verifyVSA checks a verification summary (a replay's verdict): decoded
// strictly, its subjects covering the artifacts given, its time not in the
// future, and its result PASSED. The provenance checks do not apply.
func verifyVSA(ctx context.Context, payload []byte, opts Options, now time.Time, r *Report, add func(string, Status, string, ...any)) {
	s, err := vsa.Decode(payload)
	if err != nil {
		add(CheckStatementType, Fail, "%v", strings.TrimPrefix(err.Error(), "parsing VSA: "))
		for _, n := range CheckNames[len(r.Checks):] {
			add(n, Skipped, "not checked: the verification summary did not parse")
		}
		return
	}
	r.VSA = s
	add(CheckStatementType, Pass, "https://in-toto.io/Statement/v1")
	add(CheckPredicateType, Pass, "%s (verifier %s)", vsa.PredicateType, s.VerifierID)
	subjects := make([]provenance.Resource, 0, len(s.Subjects))
	for _, sub := range s.Subjects {
		subjects = append(subjects, provenance.Resource{URI: sub.Name, Digest: sub.Digest})
	}
	r.Checks = append(r.Checks, checkSubjects(ctx, subjects, opts.Artifacts, opts.Digests))
	for _, n := range []string{CheckBuilderID, CheckSourceURI, CheckSourceCommit, CheckMaterials} {
		add(n, Skipped, "not applicable to a verification summary")
	}
	switch {
	case s.TimeVerified.IsZero():
		add(CheckTimes, Skipped, "the summary records no timeVerified")
	case s.TimeVerified.After(now.Add(MaxSkew)):
		add(CheckTimes, Fail, "timeVerified %s is in the future", s.TimeVerified.UTC().Format(time.RFC3339))
	default:
		add(CheckTimes, Pass, "verified %s", s.TimeVerified.UTC().Format(time.RFC3339))
	}
	if s.Passed {
		add(CheckVerdict, Pass, "PASSED (%s) for %s under %s", strings.Join(s.Levels, ", "), orNone(s.ResourceURI), s.PolicyURI)
		return
	}
	add(CheckVerdict, Fail, "FAILED under %s: %s differ", s.PolicyURI, strings.Join(s.Differing(), ", "))
}
