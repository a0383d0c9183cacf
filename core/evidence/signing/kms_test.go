package signing_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// TestKMSSigner signs through sigstore/sigstore's awskms:// provider with a
// real local-kms: the envelope verifies with the KMS key's public key;
// a key that does not exist, one with no public key and one that may not
// sign are each refused in one line when loaded, before anything is signed.
func TestKMSSigner(t *testing.T) {
	k := testservers.StartLocalKMS(t)
	for _, kv := range k.Env {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	ctx := context.Background()

	s, err := signing.LoadKMSSigner(ctx, k.SignKey.URI)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.LoadVerifier(k.SignKey.PublicKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != v.KeyID() || s.Algorithm() != signing.ECDSAP256 {
		t.Fatalf("KMS signer %s (%s), its public key %s", s.KeyID(), s.Algorithm(), v.KeyID())
	}
	env, err := signing.Sign(ctx, signing.PayloadType, []byte(statement), s)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := signing.VerifyEnvelope(env, 1, v); err != nil {
		t.Fatalf("the KMS signature does not verify with the key's public key: %v", err)
	}

	for _, tt := range []struct{ name, ref, want string }{
		{"no such key", k.URI("alias/does-not-exist"), "alias/does-not-exist"},
		{"AES key, no public key", k.EncryptKey.URI, "getting public key"},
		{"RSA encryption key", k.EncryptRSAKey.URI, "may not sign"},
		{"unknown scheme, no plugin", "mmbuildtestkms://key", "no plugin sigstore-kms-mmbuildtestkms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signing.LoadKMSSigner(ctx, tt.ref)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%v, want one line with %q", err, tt.want)
			}
			for _, secret := range []string{k.SecretAccessKey, os.Getenv("AWS_SECRET_ACCESS_KEY")} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error holds a credential: %v", err)
				}
			}
		})
	}
}

func TestIsKMS(t *testing.T) {
	for ref, want := range map[string]bool{
		"awskms://127.0.0.1:4566/alias/release": true, "gcpkms://projects/p": true, "azurekms://v.example.com/k": true,
		"hashivault://release": true, "mykms://k": true, "mmbuild.key": false, "/abs/mmbuild.key": false,
		"C:/keys/x.key": false, "./awskms://x": false,
	} {
		if got := signing.IsKMS(ref); got != want {
			t.Errorf("IsKMS(%q) = %t, want %t", ref, got, want)
		}
	}
}
