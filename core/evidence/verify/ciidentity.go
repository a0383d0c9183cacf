package verify

import (
	"fmt"
	"strings"

	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

// CheckCIIdentity compares the CI job a keyless signature's certificate
// names (its GitHub or GitLab Fulcio extensions) with the CI job the
// statement records: a statement signed in one job that claims to be
// another's fails.
const CheckCIIdentity = "ci-identity"

// ciField is one fact both sides may have; same compares them.
type ciField struct {
	name      string
	cert, rec string
	same      func(cert, rec string) bool
}

// checkCIIdentity compares every fact both the certificate and the
// statement have: platform, repository (URL and id), ref, commit, the
// workflow (GitHub), the run's URL and the runner kind.
func checkCIIdentity(rec *provenance.Record, cert *Certificate) Check {
	switch {
	case cert == nil:
		return result(CheckCIIdentity, Skipped, "not signed keylessly: no certificate to compare the CI job with")
	case cert.Repository == "" && cert.CI == (Certificate{}).CI:
		return result(CheckCIIdentity, Skipped, "the certificate names no CI job (identity %s)", cert.Subject)
	case rec.CI == nil:
		return result(CheckCIIdentity, Skipped, "the statement records no CI job (the certificate names %s)", orNone(cert.Repository))
	}
	var compared, differ []string
	for _, f := range ciFields(rec.CI, cert) {
		if f.cert == "" || f.rec == "" {
			continue
		}
		compared = append(compared, f.name)
		if !f.same(f.cert, f.rec) {
			differ = append(differ, fmt.Sprintf("%s: the certificate says %s, the statement records %s", f.name, f.cert, f.rec))
		}
	}
	switch {
	case len(differ) > 0:
		return result(CheckCIIdentity, Fail, "%s", strings.Join(differ, "; "))
	case len(compared) == 0:
		return result(CheckCIIdentity, Skipped, "the certificate and the statement share no CI fact to compare")
	}
	return result(CheckCIIdentity, Pass, "the certificate's CI job is the recorded one (%s agree)", strings.Join(compared, ", "))
}

func ciFields(f *cifacts.Facts, c *Certificate) []ciField {
	server := strings.TrimSuffix(f.Server, "/")
	join := func(parts ...string) string {
		for _, p := range parts {
			if p == "" {
				return ""
			}
		}
		return strings.Join(parts, "/")
	}
	fold := strings.EqualFold
	exact := func(a, b string) bool { return a == b }
	fields := []ciField{
		{"platform", c.CI.Platform, f.Platform, exact},
		// Repository paths are case-insensitive on GitHub and GitLab.
		{"repository", c.Repository, join(server, f.Repository), fold},
		{"repository id", c.CI.RepositoryID, f.RepositoryID, exact},
		{"ref", c.Ref, f.Ref, exact},
		{"commit", c.CI.Commit, f.Commit, fold},
		{"run", c.CI.RunURL, f.JobURL, sameRun},
		{"runner", c.CI.RunnerKind, f.RunnerKind, exact},
	}
	// GitHub's workflow ref is owner/repo/path@ref, the certificate's the
	// same under the server; GitLab's CI_CONFIG_PATH is only the file's
	// path (the certificate's names the project the file is in), so it is
	// not compared.
	if f.Platform == cifacts.GitHub {
		fields = append(fields, ciField{"workflow", c.Workflow, join(server, f.Workflow), exact})
	}
	return fields
}

// sameRun: the certificate's run URL is the recorded one, or the recorded
// one's attempt (GitHub's run URL without an attempt names all of them).
func sameRun(cert, rec string) bool {
	if cert == rec {
		return true
	}
	rest, ok := strings.CutPrefix(cert, rec+"/attempts/")
	return ok && rest != "" && !strings.Contains(rest, "/")
}
