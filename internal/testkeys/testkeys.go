// Package testkeys makes signing keys for tests: one helper, not a copy in
// every test file.
package testkeys

import (
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// Pair is a new ECDSA P-256 key as a signer and its verifier.
func Pair(t testing.TB) (signing.Signer, signing.Verifier) {
	t.Helper()
	return Of(t, signing.ECDSAP256)
}

// Of is a new key of alg as a signer and its verifier.
func Of(t testing.TB, alg signing.Algorithm) (signing.Signer, signing.Verifier) {
	t.Helper()
	priv, pub, err := signing.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.LoadVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}
