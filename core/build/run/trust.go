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

// signingPlan is how a run signs, settled from its options over the
// config's signing: (settleSigning).
type signingPlan struct {
	// signers are the caller's (--sign-key, a KMS key): they win.
	signers []signing.Signer
	// keyless is set when the run signs keylessly (--keyless, or
	// signing.keyless), its files the command line's else the config's;
	// keylessWhere says which asked, for errors.
	keyless      *signing.KeylessConfig
	keylessWhere string
	// tokenFile is --identity-token's file: the box hides it whether the
	// run signs keylessly or not.
	tokenFile string
}

// settleSigning settles how a run of cfg signs with the options o; the
// keyless token is looked up in running, the environment the plan read.
func settleSigning(cfg *config.Config, o *options, running environ) signingPlan {
	sp := signingPlan{signers: o.signers, tokenFile: o.keyless.TokenFile}
	s := cfg.Signing
	if !o.keylessAlways && (s == nil || !s.Keyless) {
		return sp
	}
	kc := o.keyless
	kc.LookupEnv = running.lookup
	if kc.SigningConfig == "" && kc.TrustedRoot == "" && s != nil {
		kc.SigningConfig, kc.TrustedRoot = configRelative(cfg, s.SigningConfig), configRelative(cfg, s.TrustedRoot)
	}
	sp.keyless, sp.keylessWhere = &kc, "--keyless"
	if !o.keylessAlways {
		sp.keylessWhere = cfg.PositionOf("signing.keyless").String() + ": signing.keyless"
	}
	return sp
}

// loadSigners makes the signers sp settled: the caller's, a keyless one,
// else the config's key (a file, a KMS key, or a secret's value).
func loadSigners(ctx context.Context, cfg *config.Config, sp signingPlan, secrets map[string]string) ([]signing.Signer, error) {
	if len(sp.signers) > 0 {
		return sp.signers, nil
	}
	if kc := sp.keyless; kc != nil {
		where := sp.keylessWhere
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
