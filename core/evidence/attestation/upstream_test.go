package attestation_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

func TestCheckUpstream(t *testing.T) {
	a, b := keys(t)
	prov, sb := fixture(t, "provenance.json"), fixture(t, "sbom.json")
	keysA := []signing.Verifier{a.v}
	tests := []struct {
		name      string
		data      []byte
		verifiers []signing.Verifier
		sha256    string
		want      attestation.Upstream
		err       error
	}{
		{name: "no keys, plain statement", data: prov, sha256: appSHA256, want: attestation.Upstream{Subject: "app.tar.gz", Line: 1}},
		{name: "no keys, signed bundle: taken, not verified", data: fixture(t, "signed.intoto.jsonl"), sha256: mmctlSHA256, want: attestation.Upstream{Subject: "mmctl", Line: 1}},
		{name: "no keys, unsigned bundle", data: bundle(t, line(t, sb), line(t, prov)), sha256: appSHA256, want: attestation.Upstream{Subject: "app.tar.gz", Line: 1}},
		{name: "key, signed by it", data: bundle(t, line(t, prov, a.s)), verifiers: keysA, sha256: appSHA256,
			want: attestation.Upstream{Subject: "app.tar.gz", Line: 1, Signed: true, KeyIDs: []string{a.v.KeyID()}}},
		{name: "one of two keys", data: bundle(t, line(t, prov, b.s)), verifiers: []signing.Verifier{a.v, b.v}, sha256: appSHA256,
			want: attestation.Upstream{Subject: "app.tar.gz", Line: 1, Signed: true, KeyIDs: []string{b.v.KeyID()}}},
		{name: "key, fixture bundle", data: fixture(t, "signed.intoto.jsonl"), verifiers: []signing.Verifier{fixtureKey(t)}, sha256: mmctlSHA256,
			want: attestation.Upstream{Subject: "mmctl", Line: 1, Signed: true, KeyIDs: []string{fixtureKey(t).KeyID()}}},
		{name: "key, plain statement", data: prov, verifiers: keysA, sha256: appSHA256, err: attestation.ErrUnsigned},
		{name: "key, unsigned bundle", data: bundle(t, line(t, prov), line(t, sb)), verifiers: keysA, sha256: appSHA256, err: attestation.ErrUnsigned},
		{name: "key, other signer", data: bundle(t, line(t, prov, b.s)), verifiers: keysA, sha256: appSHA256, err: attestation.ErrSignature},
		{name: "failed signature passed over, next line verifies", data: bundle(t, line(t, prov, b.s), line(t, sb, a.s)), verifiers: keysA, sha256: mmctlSHA256,
			want: attestation.Upstream{Subject: "mmctl", Line: 2, Signed: true, KeyIDs: []string{a.v.KeyID()}}},
		{name: "unsigned line passed over, next line verifies", data: bundle(t, line(t, prov), line(t, sb, a.s)), verifiers: keysA, sha256: appSHA256,
			want: attestation.Upstream{Subject: "app.tar.gz", Line: 2, Signed: true, KeyIDs: []string{a.v.KeyID()}}},
		{name: "the last refusal is reported", data: bundle(t, line(t, prov), line(t, sb, b.s)), verifiers: keysA, sha256: appSHA256, err: attestation.ErrSignature},
		{name: "no subject has the digest", data: bundle(t, line(t, prov, a.s), line(t, sb, a.s)), verifiers: keysA, sha256: strings.Repeat("0", 64), err: attestation.ErrNoSubject},
		{name: "no digest given", data: prov, sha256: "", err: attestation.ErrNoSubject},
		{name: "sha512 is not sha256", data: prov, sha256: "568d90dffe1602369104527d2c440b7de1d7e1267811faad720629a465cfe556a4a088c2f9f6ceff9c5189505f393715e20d6f60fe326ef72377bcb97a84701c", err: attestation.ErrNoSubject},
		{name: "foreign payload type", data: envelope(t, "application/json", prov), sha256: appSHA256, err: attestation.ErrMalformed},
		{name: "not an attestation", data: []byte("<html>"), sha256: appSHA256, err: attestation.ErrMalformed},
		{name: "key, Sigstore bundle signed by it", data: sigstore(t, prov, a.s), verifiers: keysA, sha256: appSHA256,
			want: attestation.Upstream{Subject: "app.tar.gz", Line: 1, Signed: true, KeyIDs: []string{a.v.KeyID()}}},
		{name: "key, Sigstore bundle of another signer", data: sigstore(t, prov, b.s), verifiers: keysA, sha256: appSHA256, err: attestation.ErrSignature},
		{name: "key, Sigstore bundle of a Statement v1 / SLSA v1", data: sigstore(t, v1Statement(t), a.s), verifiers: keysA, sha256: appSHA256,
			want: attestation.Upstream{Subject: "app.tar.gz", Line: 1, Signed: true, KeyIDs: []string{a.v.KeyID()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := attestation.CheckUpstream(tt.data, attestation.Trust{Keys: tt.verifiers}, tt.sha256)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("CheckUpstream: %+v, %v; want %v", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != tt.want.Subject || got.Line != tt.want.Line || got.Signed != tt.want.Signed || strings.Join(got.KeyIDs, ",") != strings.Join(tt.want.KeyIDs, ",") {
				t.Fatalf("CheckUpstream: %+v, want %+v", got, tt.want)
			}
		})
	}
}

// sigstore is stmt signed into a Sigstore bundle v0.3.
func sigstore(t testing.TB, stmt []byte, s signing.Signer) []byte {
	t.Helper()
	_, b, err := signing.SignForms(context.Background(), stmt, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// v1Statement is a Statement v1 with the SLSA v1 predicate whose subject
// is app.tar.gz.
func v1Statement(t testing.TB) []byte {
	t.Helper()
	b, err := provenance.Encode(provenance.Build{
		HandlerID: "make",
		Subjects:  []provenance.Resource{{URI: "app.tar.gz", Digest: provenance.Digest{"sha256": appSHA256}}},
	}, provenance.V1)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
