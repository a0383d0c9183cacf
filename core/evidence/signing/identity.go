package signing

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// Identity is a keyless signer a verifier trusts: the OIDC issuer and the
// subject (the certificate's subject alternative name) that Fulcio
// certified, each exactly or by a regular expression (Go syntax, not
// anchored: write ^…$), and optionally the CI's Fulcio certificate
// extensions that GitHub and GitLab tokens fill in. The names of the
// command-line flags are cosign's (--certificate-identity[-regexp],
// --certificate-oidc-issuer[-regexp]).
type Identity struct {
	Issuer        string `yaml:"issuer" json:"issuer,omitempty"`
	IssuerRegexp  string `yaml:"issuerRegexp" json:"issuerRegexp,omitempty"`
	Subject       string `yaml:"subject" json:"subject,omitempty"`
	SubjectRegexp string `yaml:"subjectRegexp" json:"subjectRegexp,omitempty"`
	// Repository is the source repository's URL (OID 1.3.6.1.4.1.57264.1.12,
	// https://github.com/org/app or https://gitlab.com/group/project).
	Repository string `yaml:"repository" json:"repository,omitempty"`
	// Ref is the git ref the job ran for (OID …1.14, refs/heads/main).
	Ref string `yaml:"ref" json:"ref,omitempty"`
	// Workflow is the top-level workflow or pipeline file at its ref
	// (OID …1.18: https://github.com/org/app/.github/workflows/release.yml@refs/heads/main,
	// https://gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main).
	Workflow string `yaml:"workflow" json:"workflow,omitempty"`
}

// String names the identity as its criteria, for messages.
func (i Identity) String() string {
	var parts []string
	add := func(name, exact, re string) {
		switch {
		case exact != "":
			parts = append(parts, name+" "+exact)
		case re != "":
			parts = append(parts, name+" ~ "+re)
		}
	}
	add("subject", i.Subject, i.SubjectRegexp)
	add("issuer", i.Issuer, i.IssuerRegexp)
	add("repository", i.Repository, "")
	add("ref", i.Ref, "")
	add("workflow", i.Workflow, "")
	return strings.Join(parts, ", ")
}

// Check reports an identity that could match no certificate, or any: a
// subject and an issuer are both required, each exactly or as a regular
// expression, not both.
func (i Identity) Check() error {
	_, err := i.matcher()
	return err
}

// matcher is the identity as sigstore-go's verifier takes it.
func (i Identity) matcher() (sgverify.CertificateIdentity, error) {
	switch {
	case i.Subject == "" && i.SubjectRegexp == "":
		return sgverify.CertificateIdentity{}, errors.New("no subject: give the certificate identity exactly or as a regular expression")
	case i.Subject != "" && i.SubjectRegexp != "":
		return sgverify.CertificateIdentity{}, errors.New("the subject is given both exactly and as a regular expression: give one")
	case i.Issuer == "" && i.IssuerRegexp == "":
		return sgverify.CertificateIdentity{}, errors.New("no issuer: give the OIDC issuer exactly or as a regular expression")
	case i.Issuer != "" && i.IssuerRegexp != "":
		return sgverify.CertificateIdentity{}, errors.New("the issuer is given both exactly and as a regular expression: give one")
	}
	for _, re := range []string{i.SubjectRegexp, i.IssuerRegexp} {
		if _, err := regexp.Compile(re); err != nil {
			return sgverify.CertificateIdentity{}, fmt.Errorf("regular expression %q: %w", re, err)
		}
	}
	san, err := sgverify.NewSANMatcher(i.Subject, i.SubjectRegexp)
	if err != nil {
		return sgverify.CertificateIdentity{}, err
	}
	iss, err := sgverify.NewIssuerMatcher(i.Issuer, i.IssuerRegexp)
	if err != nil {
		return sgverify.CertificateIdentity{}, err
	}
	return sgverify.NewCertificateIdentity(san, iss, certificate.Extensions{
		SourceRepositoryURI: i.Repository,
		SourceRepositoryRef: i.Ref,
		BuildConfigURI:      i.Workflow,
	})
}

// Matches reports whether a verified certificate (as Certified records it)
// is this identity's; the error says which criterion differs.
func (i Identity) Matches(c *Certified) error {
	m, err := i.matcher()
	if err != nil {
		return err
	}
	return m.Verify(c.summary)
}
