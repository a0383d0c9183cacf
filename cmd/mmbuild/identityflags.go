package main

import (
	"errors"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/pflag"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// identityFlags are the flags that trust a keyless signer, named as
// cosign names them; declared once for every command that verifies.
type identityFlags struct {
	subject, subjectRegexp string
	issuer, issuerRegexp   string
	trustedRoot            string
	ignoreSCT              bool
}

func (o *identityFlags) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.subject, "certificate-identity", "", "trust a keyless signature whose certificate names exactly this identity (a workflow URL, an e-mail)")
	f.StringVar(&o.subjectRegexp, "certificate-identity-regexp", "", "trust a keyless signature whose certificate identity matches this regular expression (not anchored: write ^…$)")
	f.StringVar(&o.issuer, "certificate-oidc-issuer", "", "the OIDC issuer that must have vouched for the certificate identity (https://token.actions.githubusercontent.com, https://gitlab.com)")
	f.StringVar(&o.issuerRegexp, "certificate-oidc-issuer-regexp", "", "the OIDC issuer, as a regular expression")
	f.StringVar(&o.trustedRoot, "trusted-root", "", "Sigstore trusted root (trusted_root.json) to verify keyless signatures under (default: the public-good instance's, fetched through TUF)")
	f.BoolVar(&o.ignoreSCT, "insecure-ignore-sct", false, "do not require the certificate's signed certificate timestamp even when the trusted root has a CT log")
}

// identity is the identity the flags trust; ok is false when none is given.
func (o *identityFlags) identity() (signing.Identity, bool, error) {
	id := signing.Identity{Subject: o.subject, SubjectRegexp: o.subjectRegexp, Issuer: o.issuer, IssuerRegexp: o.issuerRegexp}
	if id == (signing.Identity{}) {
		return id, false, nil
	}
	if err := id.Check(); err != nil {
		return id, false, usageError{errors.New("--certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]: " + err.Error())}
	}
	return id, true, nil
}

// options are the keyless verifier's options the flags ask for.
func (o *identityFlags) options() []signing.KeylessOption {
	if o.ignoreSCT {
		return []signing.KeylessOption{signing.WithoutSCT()}
	}
	return nil
}

// root is the trusted root: --trusted-root, else fallback (a policy's),
// else the public-good instance's.
func (o *identityFlags) root(fallback string) (root.TrustedMaterial, error) {
	switch {
	case o.trustedRoot != "":
		return signing.LoadTrustedRoot(o.trustedRoot)
	case fallback != "":
		return signing.LoadTrustedRoot(fallback)
	}
	return signing.PublicGoodRoot()
}

// keyless is the verifier of the identity the flags trust, nil when they
// name none.
func (o *identityFlags) keyless() (*signing.Keyless, error) {
	id, ok, err := o.identity()
	if err != nil || !ok {
		if err == nil && (o.trustedRoot != "" || o.ignoreSCT) {
			err = usageError{errors.New("--trusted-root and --insecure-ignore-sct need a --certificate-identity[-regexp] to trust")}
		}
		return nil, err
	}
	tr, err := o.root("")
	if err != nil {
		return nil, err
	}
	return signing.NewKeyless(tr, []signing.Identity{id}, o.options()...)
}
