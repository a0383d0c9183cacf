package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
)

// sbomPredicate is the SBOM predicate type of a payload, "" for others.
func sbomPredicate(payload []byte) string {
	var h struct {
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(payload, &h) == nil && slices.Contains(sbom.PredicateTypes, h.PredicateType) {
		return h.PredicateType
	}
	return ""
}

// verifySBOM checks an SBOM statement: its document parses with its
// format's library, it describes exactly the statement's subjects with
// their sha256, and the subjects cover the artifacts given. Provenance
// checks do not apply.
func verifySBOM(ctx context.Context, st *attestation.Statement, pt string, opts Options, r *Report, add func(string, Status, string, ...any)) {
	var whole struct {
		Type      string          `json:"_type"`
		Predicate json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(st.Payload, &whole); err != nil || (whole.Type != provenance.StatementV01 && whole.Type != provenance.StatementV1) {
		add(CheckStatementType, Fail, "not an in-toto statement (_type %q)", whole.Type)
	} else {
		add(CheckStatementType, Pass, "%s", whole.Type)
	}
	described, err := sbom.Read(pt, whole.Predicate)
	if err != nil {
		add(CheckPredicateType, Fail, "%s: %v", pt, err)
	} else if why := sbomMatchesSubjects(described, st.Subjects); why != "" {
		add(CheckPredicateType, Fail, "%s: %s", pt, why)
	} else {
		add(CheckPredicateType, Pass, "%s describing %d artifact%s", pt, len(described), plural(len(described)))
	}
	subjects := make([]provenance.Resource, 0, len(st.Subjects))
	for _, s := range st.Subjects {
		subjects = append(subjects, provenance.Resource{URI: s.Name, Digest: s.Digest})
	}
	r.Checks = append(r.Checks, checkSubjects(ctx, subjects, opts.Artifacts, opts.Digests))
	for _, n := range []string{CheckBuilderID, CheckSourceURI, CheckSourceCommit, CheckMaterials, CheckTimes} {
		add(n, Skipped, "not applicable to an SBOM")
	}
	add(CheckVerdict, Skipped, "not a verification summary")
}

// sbomMatchesSubjects says how the artifacts an SBOM describes differ from
// the statement's subjects ("" when they are the same, by name and sha256):
// an SBOM must describe what its statement vouches for.
func sbomMatchesSubjects(described []sbom.Described, subjects []attestation.Subject) string {
	want := map[string]string{}
	for _, s := range subjects {
		want[s.Name] = strings.ToLower(s.Digest["sha256"])
	}
	var bad []string
	for _, d := range described {
		w, ok := want[d.Name]
		switch {
		case !ok:
			bad = append(bad, d.Name+" is not a subject")
		case w != d.SHA256:
			bad = append(bad, fmt.Sprintf("%s: the SBOM says sha256 %s, the subject %s", d.Name, orNone(d.SHA256), w))
		}
		delete(want, d.Name)
	}
	for name := range want {
		bad = append(bad, name+" is a subject the SBOM does not describe")
	}
	slices.Sort(bad)
	return strings.Join(bad, "; ")
}
