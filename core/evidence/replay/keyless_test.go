package replay

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/signing/signingtest"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// TestLoadKeyless: replay's input may be signed keylessly: Load accepts it
// for a trusted identity (a real bundle of a local Sigstore stack) and
// refuses it for another.
func TestLoadKeyless(t *testing.T) {
	s := testservers.StartSigstore(t)
	const who = "builder@example.com"
	stmt, err := os.ReadFile("../attestation/testdata/provenance.json")
	if err != nil {
		t.Fatal(err)
	}
	_, bundle, err := signing.SignForms(context.Background(), stmt, signingtest.Signer(t, s, who))
	if err != nil {
		t.Fatal(err)
	}
	trusting := func(subject string) Option { return WithKeyless(signingtest.Trusting(t, s, subject)) }
	if _, _, verified, err := Load(bundle, trusting(who)); err != nil || !verified {
		t.Fatalf("trusted identity: verified %t, %v", verified, err)
	}
	if _, _, _, err := Load(bundle, trusting("other@example.com")); !errors.Is(err, ErrRefused) {
		t.Fatalf("another identity: %v, want a refusal", err)
	}
}
