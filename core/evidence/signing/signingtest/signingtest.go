// Package signingtest signs and verifies keylessly against a local
// Sigstore stack (internal/testservers), for the tests of the packages that
// take signed evidence.
package signingtest

import (
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// Signer is a keyless signer against s whose identity token is who's
// (given as $SIGSTORE_ID_TOKEN, the rest of the environment empty).
func Signer(t testing.TB, s *testservers.Sigstore, who string) *signing.KeylessSigner {
	t.Helper()
	sc, err := signing.LoadSigningConfig(s.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	tok := s.Token(t, who)
	k, err := signing.NewKeylessSigner(signing.TokenSource{LookupEnv: func(n string) (string, bool) {
		return tok, n == signing.TokenEnv
	}}, sc, Root(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Root is s's trusted root.
func Root(t testing.TB, s *testservers.Sigstore) *signing.TrustedRoot {
	t.Helper()
	tr, err := signing.LoadTrustedRoot(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// Trusting verifies keyless signatures of s by subject (issued on s's
// OIDC issuer's word).
func Trusting(t testing.TB, s *testservers.Sigstore, subject string) *signing.Keyless {
	t.Helper()
	k, err := signing.NewKeyless(Root(t, s), []signing.Identity{{Subject: subject, Issuer: s.Issuer()}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}
