package verify

import (
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// TestCheckCIIdentity compares a certificate's CI extensions with the
// recorded CI facts field by field (the e2e TestKeylessCIIdentity signs
// for real against the local Sigstore stack).
func TestCheckCIIdentity(t *testing.T) {
	gh := func() *cifacts.Facts {
		return &cifacts.Facts{Platform: cifacts.GitHub, Server: "https://github.com", Repository: "octo-org/hello", RepositoryID: "1001",
			Ref: "refs/heads/main", Commit: strings.Repeat("a", 40), Workflow: "octo-org/hello/.github/workflows/build.yml@refs/heads/main",
			RunID: "3003", JobURL: "https://github.com/octo-org/hello/actions/runs/3003", RunnerKind: cifacts.Hosted}
	}
	ghCert := func() *Certificate {
		return &Certificate{Subject: "https://github.com/octo-org/hello/.github/workflows/build.yml@refs/heads/main",
			Repository: "https://github.com/Octo-Org/hello", Ref: "refs/heads/main",
			Workflow: "https://github.com/octo-org/hello/.github/workflows/build.yml@refs/heads/main",
			CI: signing.CertifiedCI{Platform: cifacts.GitHub, RepositoryID: "1001", Commit: strings.Repeat("a", 40),
				RunURL: "https://github.com/octo-org/hello/actions/runs/3003/attempts/1", RunnerKind: cifacts.Hosted}}
	}
	tests := []struct {
		name   string
		facts  func(*cifacts.Facts) *cifacts.Facts
		cert   func(*Certificate) *Certificate
		status Status
		detail string
	}{
		{name: "the same job", status: Pass, detail: "(platform, repository, repository id, ref, commit, run, runner, workflow agree)"},
		{name: "no certificate", cert: func(*Certificate) *Certificate { return nil }, status: Skipped, detail: "not signed keylessly"},
		{name: "an e-mail identity", cert: func(*Certificate) *Certificate { return &Certificate{Subject: "a@example.com"} },
			status: Skipped, detail: "names no CI job"},
		{name: "no recorded CI", facts: func(*cifacts.Facts) *cifacts.Facts { return nil }, status: Skipped, detail: "records no CI job"},
		{name: "another repository", cert: func(c *Certificate) *Certificate { c.Repository = "https://github.com/evil/hello"; return c },
			status: Fail, detail: "repository: the certificate says https://github.com/evil/hello, the statement records https://github.com/octo-org/hello"},
		{name: "another ref", facts: func(f *cifacts.Facts) *cifacts.Facts { f.Ref = "refs/heads/dev"; return f },
			status: Fail, detail: "ref: the certificate says refs/heads/main, the statement records refs/heads/dev"},
		{name: "another platform", facts: func(f *cifacts.Facts) *cifacts.Facts { f.Platform = cifacts.GitLab; return f },
			status: Fail, detail: "platform: the certificate says github, the statement records gitlab"},
		{name: "another run", facts: func(f *cifacts.Facts) *cifacts.Facts { f.JobURL += "1"; return f },
			status: Fail, detail: "run: the certificate says"},
		{name: "another attempt", facts: func(f *cifacts.Facts) *cifacts.Facts { f.JobURL += "/attempts/2"; return f },
			status: Fail, detail: "run: the certificate says"},
		{name: "another commit", facts: func(f *cifacts.Facts) *cifacts.Facts { f.Commit = strings.Repeat("b", 40); return f },
			status: Fail, detail: "commit:"},
		{name: "another workflow", cert: func(c *Certificate) *Certificate { c.Workflow += "x"; return c },
			status: Fail, detail: "workflow:"},
		{name: "self-hosted recorded", facts: func(f *cifacts.Facts) *cifacts.Facts { f.RunnerKind = cifacts.SelfHosted; return f },
			status: Fail, detail: "runner:"},
		{name: "only the platform in common", facts: func(f *cifacts.Facts) *cifacts.Facts { return &cifacts.Facts{Platform: cifacts.GitHub} },
			status: Pass, detail: "(platform agree)"},
		{name: "nothing in common", facts: func(*cifacts.Facts) *cifacts.Facts { return &cifacts.Facts{Platform: cifacts.Generic} },
			cert: func(c *Certificate) *Certificate { c.CI.Platform = ""; return c }, status: Skipped, detail: "share no CI fact"},
		{name: "a generic CI against a github certificate", facts: func(*cifacts.Facts) *cifacts.Facts { return &cifacts.Facts{Platform: cifacts.Generic} },
			status: Fail, detail: "platform: the certificate says github, the statement records generic"},
		{name: "gitlab", facts: func(*cifacts.Facts) *cifacts.Facts {
			return &cifacts.Facts{Platform: cifacts.GitLab, Server: "https://gitlab.com", Repository: "octo-group/hello", Ref: "refs/heads/main",
				Workflow: ".gitlab-ci.yml", JobURL: "https://gitlab.com/octo-group/hello/-/jobs/7007"}
		}, cert: func(*Certificate) *Certificate {
			return &Certificate{Repository: "https://gitlab.com/octo-group/hello", Ref: "refs/heads/main",
				Workflow: "https://gitlab.com/octo-group/hello//.gitlab-ci.yml@refs/heads/main",
				CI:       signing.CertifiedCI{Platform: cifacts.GitLab, RunURL: "https://gitlab.com/octo-group/hello/-/jobs/7007"}}
		}, status: Pass, detail: "(platform, repository, ref, run agree)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := gh(), ghCert()
			if tt.facts != nil {
				f = tt.facts(f)
			}
			if tt.cert != nil {
				c = tt.cert(c)
			}
			got := checkCIIdentity(&provenance.Record{CI: f}, c)
			if got.Name != CheckCIIdentity || got.Status != tt.status || !strings.Contains(got.Detail, tt.detail) {
				t.Fatalf("got %s %s %q, want %s with %q", got.Name, got.Status, got.Detail, tt.status, tt.detail)
			}
		})
	}
}
