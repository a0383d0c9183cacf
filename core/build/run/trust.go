package run

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

func loadSigners(ctx context.Context, cfg *config.Config, o *options, secrets map[string]string) ([]signing.Signer, error) {
	if len(o.signers) > 0 {
		return o.signers, nil
	}
	if kc, ok := keylessConfig(cfg, o); ok {
		where := "--keyless"
		if !o.keylessAlways {
			where = cfg.PositionOf("signing.keyless").String() + ": signing.keyless"
		}
		for _, e := range cfg.Env {
			if slices.Contains(signing.TokenVars, e.Var) {
				return nil, fmt.Errorf("%s: env: %s would hand the build the means to sign as this job: keyless signing keeps it from the build", cfg.PositionOf("env"), e.Var)
			}
		}
		k, err := kc.Signer(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return []signing.Signer{k}, nil
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
	case signing.IsKMS(s.Key):
		k, err := signing.LoadKMSSigner(ctx, s.Key)
		if err != nil {
			return nil, fmt.Errorf("%s: signing.key: %w", s.Pos, err)
		}
		return []signing.Signer{k}, nil
	case s.Key != "":
		b, err := signing.ReadKeyFile(signingKeyPath(cfg))
		if err != nil {
			return nil, fmt.Errorf("%s: signing.key: %w", s.Pos, err)
		}
		pem = b
	default:
		return nil, fmt.Errorf("%s: signing: give key (a PEM file or a KMS key) or keySecret", s.Pos)
	}
	k, err := signing.LoadSigner(pem)
	if err != nil {
		// Never echo the key material: only say what failed.
		return nil, fmt.Errorf("%s: signing: loading the private key: %w", s.Pos, err)
	}
	return []signing.Signer{k}, nil
}

func keylessConfig(cfg *config.Config, o *options) (signing.KeylessConfig, bool) {
	s := cfg.Signing
	if !o.keylessAlways && (s == nil || !s.Keyless) {
		return signing.KeylessConfig{}, false
	}
	kc := o.keyless
	kc.LookupEnv = o.lookupEnv
	if kc.SigningConfig == "" && kc.TrustedRoot == "" && s != nil {
		kc.SigningConfig, kc.TrustedRoot = configRelative(cfg, s.SigningConfig), configRelative(cfg, s.TrustedRoot)
	}
	return kc, true
}

func configRelative(cfg *config.Config, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(cfg.Path), p)
}

func signingKeyPath(cfg *config.Config) string {
	if signing.IsKMS(cfg.Signing.Key) {
		return ""
	}
	return configRelative(cfg, cfg.Signing.Key)
}

func loadTrust(cfg *config.Config, m config.Material) (attestation.Trust, error) {
	keys, err := loadVerifiers(cfg, m.Keys)
	if err != nil || len(m.Identities) == 0 {
		return attestation.Trust{Keys: keys}, err
	}
	var tr root.TrustedMaterial
	if m.TrustedRoot != "" {
		tr, err = signing.LoadTrustedRoot(configRelative(cfg, m.TrustedRoot))
	} else {
		tr, err = signing.PublicGoodRoot()
	}
	if err != nil {
		return attestation.Trust{}, err
	}
	k, err := signing.NewKeyless(tr, m.Identities)
	return attestation.Trust{Keys: keys, Keyless: k}, err
}

func loadVerifiers(cfg *config.Config, keys []string) ([]signing.Verifier, error) {
	return signing.LoadVerifierFiles(filepath.Dir(cfg.Path), keys...)
}
