package run

import (
	"fmt"
	"path/filepath"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// loadSigners returns the keys the attestation is signed with: --sign-key
// (WithSigners) or the config's signing: entry.
func loadSigners(cfg *config.Config, given []signing.Signer, secrets map[string]string) ([]signing.Signer, error) {
	if len(given) > 0 {
		return given, nil
	}
	s := cfg.Signing
	if s == nil {
		return nil, nil
	}
	var pem []byte
	switch {
	case s.KeySecret != "":
		v, ok := secrets[s.KeySecret]
		if !ok {
			return nil, fmt.Errorf("%s: signing.keySecret: secret %q is not declared", s.Pos, s.KeySecret)
		}
		pem = []byte(v)
	case s.Key != "":
		b, err := signing.ReadKeyFile(signingKeyPath(cfg))
		if err != nil {
			return nil, fmt.Errorf("%s: signing.key: %w", s.Pos, err)
		}
		pem = b
	default:
		return nil, fmt.Errorf("%s: signing: give key (a PEM file) or keySecret", s.Pos)
	}
	k, err := signing.LoadSigner(pem)
	if err != nil {
		// Never echo the key material: only say what failed.
		return nil, fmt.Errorf("%s: signing: loading the private key: %w", s.Pos, err)
	}
	return []signing.Signer{k}, nil
}

// signingKeyPath is where the config's signing.key is: a path relative to
// the config's folder. The signer reads it; the build's box hides it.
func signingKeyPath(cfg *config.Config) string {
	p := cfg.Signing.Key
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(cfg.Path), p)
	}
	return p
}

// loadVerifiers reads the public keys a material's attestation must be
// signed with (paths relative to the config's folder).
func loadVerifiers(cfg *config.Config, keys []string) ([]signing.Verifier, error) {
	return signing.LoadVerifierFiles(filepath.Dir(cfg.Path), keys...)
}
