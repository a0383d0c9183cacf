package signing

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	sigkms "github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"

	// The KMS providers cosign has: each registers its scheme.
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)

// kmsRef is a key reference with a scheme: awskms://, gcpkms://,
// azurekms://, hashivault://, or NAME:// for sigstore's KMS plugin
// protocol (an executable sigstore-kms-NAME on $PATH).
var kmsRef = regexp.MustCompile(`^[a-z][a-z0-9-]*://`)

// IsKMS reports whether a signing key reference names a KMS key rather
// than a file: it has a scheme. A KMS key is never read from, nor hidden
// as, a path.
func IsKMS(ref string) bool { return kmsRef.MatchString(ref) }

// kmsTimeout bounds loading a KMS key and each signature.
const kmsTimeout = 2 * time.Minute

// kmsProbe is what LoadKMSSigner signs to learn that the key may sign, in
// the scheme this package verifies, before any build runs. It cannot be
// taken for an envelope's signature: DSSE signs "DSSEv1 …" only.
var kmsProbe = []byte("mmbuild: checking that this KMS key signs\n")

// LoadKMSSigner returns the signer of a KMS key through sigstore/sigstore's
// KMS providers (their credentials come from the environment as each cloud
// SDK reads it: never from the key reference). The key must have an ECDSA
// P-256, Ed25519 or RSA (PSS) public key, and sign: it signs a probe once
// here, so that a key that does not exist or may not sign fails before
// anything is built.
func LoadKMSSigner(ctx context.Context, ref string) (Signer, error) {
	if !IsKMS(ref) {
		return nil, fmt.Errorf("loading KMS key %q: not a KMS reference (awskms://, gcpkms://, azurekms://, hashivault:// or a KMS plugin's NAME://)", ref)
	}
	ctx, cancel := context.WithTimeout(ctx, kmsTimeout)
	defer cancel()
	var sv sigkms.SignerVerifier
	err := guard(func() (err error) {
		sv, err = sigkms.Get(ctx, ref, crypto.SHA256)
		return err
	})
	if err != nil {
		var nf *sigkms.ProviderNotFoundError
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("loading KMS key %s: no KMS provider for this scheme and no plugin sigstore-kms-%s on $PATH", ref, strings.SplitN(ref, ":", 2)[0])
		}
		return nil, fmt.Errorf("loading KMS key %s: %w", ref, oneLineErr(err))
	}
	var pub crypto.PublicKey
	if err := guard(func() (err error) {
		pub, err = sv.PublicKey(options.WithContext(ctx))
		return err
	}); err != nil {
		return nil, fmt.Errorf("loading KMS key %s: %w", ref, oneLineErr(err))
	}
	v, err := newKey(pub, nil)
	if err != nil {
		return nil, fmt.Errorf("loading KMS key %s: %w", ref, err)
	}
	k := &kmsKey{ref: ref, sv: sv, v: v}
	sig, err := k.Sign(ctx, kmsProbe)
	if err != nil {
		return nil, fmt.Errorf("loading KMS key %s: the key may not sign: %w", ref, errors.Unwrap(err))
	}
	if err := v.Verify(ctx, kmsProbe, sig); err != nil {
		return nil, fmt.Errorf("loading KMS key %s: it signs in a scheme mmbuild does not verify (want ECDSA P-256 with SHA-256, Ed25519, or RSASSA-PSS with SHA-256): %w", ref, err)
	}
	return k, nil
}

// kmsKey is a Signer whose private key stays in the KMS.
type kmsKey struct {
	ref string
	sv  signature.SignerVerifier
	v   *key // the public half, for the id and the algorithm
}

var _ Signer = (*kmsKey)(nil)

func (k *kmsKey) KeyID() string            { return k.v.KeyID() }
func (k *kmsKey) Algorithm() Algorithm     { return k.v.Algorithm() }
func (k *kmsKey) Public() crypto.PublicKey { return k.v.Public() }

func (k *kmsKey) Sign(ctx context.Context, data []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, kmsTimeout)
	defer cancel()
	var sig []byte
	err := guard(func() (err error) {
		sig, err = k.sv.SignMessage(bytes.NewReader(data), options.WithContext(ctx))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("signing with KMS key %s: %w", k.ref, oneLineErr(err))
	}
	return sig, nil
}

// guard runs a call into a KMS provider and turns its panic into an error:
// a provider indexes the key's signing algorithms without checking that
// there are any (an encryption key's).
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the KMS provider failed (%v): is this a signing key?", r)
		}
	}()
	return f()
}
