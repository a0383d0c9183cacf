package signing

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// Keyless verifies Sigstore bundles signed with a Fulcio certificate
// (keyless signing) against a trusted root and the identities trusted:
// through sigstore-go's verifier, which checks the certificate chain to
// the root's Fulcio CAs at the time a log or a timestamp authority
// observed the signature, the transparency-log entry with its inclusion
// proof (and that it is the entry of this envelope), the timestamps, the
// certificate's SCT when the root has a CT log, the envelope's signature
// with the certificate's key, and the identity.
type Keyless struct {
	root       root.TrustedMaterial
	identities []Identity
	matchers   []sgverify.CertificateIdentity
	verifier   *sgverify.Verifier
	ignoreSCT  bool
}

// KeylessOption configures NewKeyless.
type KeylessOption func(*Keyless)

// WithoutSCT does not require the certificate's signed certificate
// timestamp even when the trusted root has a CT log (cosign's
// --insecure-ignore-sct). Default: required when the root has a CT log.
func WithoutSCT() KeylessOption { return func(k *Keyless) { k.ignoreSCT = true } }

// NewKeyless returns the verifier of keyless signatures by any of the
// identities, under the trusted root (see LoadTrustedRoot).
func NewKeyless(tr root.TrustedMaterial, identities []Identity, opts ...KeylessOption) (*Keyless, error) {
	if tr == nil {
		return nil, errors.New("verifying keyless signatures: no trusted root")
	}
	if len(identities) == 0 {
		return nil, errors.New("verifying keyless signatures: no identity to trust (give the certificate identity and its OIDC issuer)")
	}
	k := &Keyless{root: tr, identities: identities}
	for _, o := range opts {
		o(k)
	}
	for _, id := range identities {
		m, err := id.matcher()
		if err != nil {
			return nil, fmt.Errorf("identity %s: %w", id, err)
		}
		k.matchers = append(k.matchers, m)
	}
	vopts := []sgverify.VerifierOption{
		sgverify.WithTransparencyLog(1),
		sgverify.WithObserverTimestamps(1),
		sgverify.WithoutStatementPredicate(),
	}
	if k.RequiresSCT() {
		vopts = append(vopts, sgverify.WithSignedCertificateTimestamps(1))
	}
	v, err := sgverify.NewVerifier(tr, vopts...)
	if err != nil {
		return nil, fmt.Errorf("verifying keyless signatures: %w", err)
	}
	k.verifier = v
	return k, nil
}

// Identities are the identities trusted.
func (k *Keyless) Identities() []Identity { return k.identities }

// RequiresSCT reports whether certificates must carry an SCT: when the
// trusted root has a CT log and WithoutSCT was not given.
func (k *Keyless) RequiresSCT() bool { return !k.ignoreSCT && len(k.root.CTLogs()) > 0 }

// TrustedRoot is a Sigstore trusted root: the Fulcio CAs, Rekor logs, CT
// logs and timestamp authorities of one instance.
type TrustedRoot = root.TrustedRoot

// LoadTrustedRoot reads a trusted root in Sigstore's JSON format
// (trusted_root.json, application/vnd.dev.sigstore.trustedroot+json).
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("reading trusted root %s: %w", path, err)
	}
	return tr, nil
}

// PublicGoodRoot fetches the public-good instance's trusted root through
// its TUF repository (sigstore-go's embedded TUF root, cached in
// ~/.sigstore): the default when no trusted root is given.
func PublicGoodRoot() (*root.TrustedRoot, error) {
	tr, err := root.FetchTrustedRoot()
	if err != nil {
		return nil, fmt.Errorf("fetching the public-good trusted root (give --trusted-root FILE to verify offline): %w", err)
	}
	return tr, nil
}

// ErrNoCertificate: the bundle is not signed with a certificate (it is
// signed with a key, or is not a Sigstore bundle).
var ErrNoCertificate = errors.New("not signed with a certificate")

// Certified is a keyless signature that verified: who the certificate
// names, which trusted identity that is, and what vouched for the time.
type Certified struct {
	// Subject is the certificate's subject alternative name, Issuer the
	// OIDC issuer that vouched for it.
	Subject, Issuer string
	// Repository, Ref and Workflow are the CI's certificate extensions
	// (see Identity), "" when the token had none.
	Repository, Ref, Workflow string
	// Identity is the trusted identity it matched.
	Identity Identity
	// Timestamps say who observed the signature when: "Tlog 2023-08-18T…"
	// (a log's integrated time) or "TimestampAuthority 2025-…".
	Timestamps []string
	// SCT is true when the certificate's SCT was verified.
	SCT bool

	summary certificate.Summary
}

// String is the one-line account of a verified certificate.
func (c *Certified) String() string {
	s := fmt.Sprintf("certificate for %s (issuer %s) chains to the trusted root", c.Subject, c.Issuer)
	if c.SCT {
		s += ", SCT verified"
	}
	return s + ", observed at " + strings.Join(c.Timestamps, " and ")
}

// VerifyBundle verifies a Sigstore bundle (JSON) signed with a Fulcio
// certificate. It does not check what the envelope's statement says about
// any artifact: that is the caller's (subjects). A bundle without a
// certificate is ErrNoCertificate.
func (k *Keyless) VerifyBundle(data []byte) (*Certified, error) {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("reading Sigstore bundle: %w", err)
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, fmt.Errorf("reading Sigstore bundle: %w", err)
	}
	if vc.Certificate() == nil {
		return nil, ErrNoCertificate
	}
	pol := []sgverify.PolicyOption{}
	for _, m := range k.matchers {
		pol = append(pol, sgverify.WithCertificateIdentity(m))
	}
	res, err := k.verifier.Verify(&b, sgverify.NewPolicy(sgverify.WithoutArtifactUnsafe(), pol...))
	if err != nil {
		return nil, oneLineErr(err)
	}
	if res.Signature == nil || res.Signature.Certificate == nil {
		return nil, ErrNoCertificate
	}
	sum := *res.Signature.Certificate
	c := &Certified{Subject: sum.SubjectAlternativeName, Issuer: sum.Issuer, SCT: k.RequiresSCT(), summary: sum,
		Repository: sum.SourceRepositoryURI, Ref: sum.SourceRepositoryRef, Workflow: sum.BuildConfigURI}
	for i, m := range k.matchers {
		if m.Verify(sum) == nil {
			c.Identity = k.identities[i]
			break
		}
	}
	for _, ts := range res.VerifiedTimestamps {
		c.Timestamps = append(c.Timestamps, ts.Type+" "+ts.Timestamp.UTC().Format(time.RFC3339))
	}
	sort.Strings(c.Timestamps)
	return c, nil
}

// oneLineErr keeps sigstore-go's error (errors.Is/As still work) but folds
// the lines of a joined error into one.
func oneLineErr(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return err
	}
	return &folded{msg: strings.Join(strings.Fields(msg), " "), err: err}
}

type folded struct {
	msg string
	err error
}

func (f *folded) Error() string { return f.msg }
func (f *folded) Unwrap() error { return f.err }
