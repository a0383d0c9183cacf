package attestation_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/signing/signingtest"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// TestCheckUpstreamKeyless: an upstream attestation signed keylessly (a
// real Sigstore bundle from a local stack) vouches for a material when its
// signer is a trusted identity, and not for another identity nor on keys.
func TestCheckUpstreamKeyless(t *testing.T) {
	s := testservers.StartSigstore(t)
	const who = "upstream@example.com"
	_, data, err := signing.SignForms(context.Background(), fixture(t, "provenance.json"), signingtest.Signer(t, s, who))
	if err != nil {
		t.Fatal(err)
	}
	trusting := func(subject string) attestation.Trust {
		return attestation.Trust{Keyless: signingtest.Trusting(t, s, subject)}
	}
	a, _ := keys(t)

	up, err := attestation.CheckUpstream(data, trusting(who), appSHA256)
	if err != nil || !up.Signed || up.Signer != who || up.Subject != "app.tar.gz" {
		t.Fatalf("trusted identity: %+v, %v", up, err)
	}
	for _, tt := range []struct {
		name  string
		trust attestation.Trust
		want  string
	}{
		{"another identity", trusting("someone@example.com"), "someone@example.com"},
		{"a key only", attestation.Trust{Keys: []signing.Verifier{a.v}}, "not verified"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := attestation.CheckUpstream(data, tt.trust, appSHA256)
			if !errors.Is(err, attestation.ErrSignature) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v, want a signature refusal with %q", err, tt.want)
			}
		})
	}
}
