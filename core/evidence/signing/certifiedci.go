package signing

import (
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
)

// CertifiedCI is what a CI's Fulcio certificate extensions say of the job
// beyond Certified's repository, ref and workflow; "" where the
// certificate says nothing.
type CertifiedCI struct {
	// Platform is cifacts.GitHub or cifacts.GitLab when the extensions are
	// unmistakably that platform's (GitHub's own workflow-repository
	// extension, or the shape of the run's URL), "" otherwise.
	Platform string `json:"platform,omitempty"`
	// RepositoryID is the platform's immutable id of the repository
	// (OID …1.15), Commit the source commit (…1.13).
	RepositoryID string `json:"repositoryId,omitempty"`
	Commit       string `json:"commit,omitempty"`
	// RunURL is the run or job the signature was made in (OID …1.21):
	// https://github.com/org/app/actions/runs/1/attempts/1,
	// https://gitlab.com/group/project/-/jobs/7.
	RunURL string `json:"runUrl,omitempty"`
	// RunnerKind is cifacts.Hosted or cifacts.SelfHosted (OID …1.11).
	RunnerKind string `json:"runnerKind,omitempty"`
}

func certifiedCI(e certificate.Extensions) CertifiedCI {
	c := CertifiedCI{RepositoryID: e.SourceRepositoryIdentifier, Commit: e.SourceRepositoryDigest, RunURL: e.RunInvocationURI}
	switch {
	case e.GithubWorkflowRepository != "" || strings.Contains(e.RunInvocationURI, "/actions/runs/") || e.RunnerEnvironment == "github-hosted":
		c.Platform = cifacts.GitHub
	case strings.Contains(e.RunInvocationURI, "/-/jobs/") || e.RunnerEnvironment == "gitlab-hosted":
		c.Platform = cifacts.GitLab
	}
	switch e.RunnerEnvironment {
	case "github-hosted", "gitlab-hosted":
		c.RunnerKind = cifacts.Hosted
	case "self-hosted":
		c.RunnerKind = cifacts.SelfHosted
	}
	return c
}
