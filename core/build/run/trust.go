package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// File names of the trust outputs, beside provenance.json locally and at
// the staging URL.
const (
	BundleName = "provenance.intoto.jsonl"
	SBOMName   = "sbom.spdx.json"
	// The Sigstore bundles (v0.3) of the signed statements, one statement
	// each, as cosign 3 reads them (verify-blob-attestation --bundle).
	SigstoreName     = "provenance.sigstore.json"
	SBOMSigstoreName = "sbom.sigstore.json"
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
		p := s.Key
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(cfg.Path), p)
		}
		b, err := os.ReadFile(p)
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

// sourceDateEpoch is the time reproducible outputs carry: SOURCE_DATE_EPOCH
// of the builder's environment, else fallback.
func sourceDateEpoch(env builderEnv, fallback time.Time) time.Time {
	if v, ok := env.lookup(SourceDateEpochVar); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return fallback.UTC()
}

// signAndSBOM signs the statement and writes the SBOM, as configured,
// into ev: the .intoto.jsonl bundle (nil when neither is asked for), the
// Sigstore bundles of what is signed, and the SBOM document.
func signAndSBOM(ctx context.Context, t tools, cfg *config.Config, in *prepared, ev *evidence, out *built) error {
	var lines [][]byte
	var err error
	if len(in.signers) > 0 {
		var env []byte
		if env, ev.sigstore, err = signing.SignForms(ctx, ev.data, in.signers...); err != nil {
			return fmt.Errorf("signing the attestation: %w", err)
		}
		lines = append(lines, env)
	}
	if cfg.SBOM || t.o.sbom {
		var st []byte
		if ev.sbom, st, err = makeSBOM(in, out); err != nil {
			return err
		}
		if len(lines) == 0 {
			// Unsigned: the statement travels as an envelope without
			// signatures, so the bundle keeps one format.
			prov, err := json.Marshal(signing.Envelope{PayloadType: signing.PayloadType, Payload: ev.data})
			if err != nil {
				return err
			}
			lines = append(lines, prov)
		}
		var line []byte
		if len(in.signers) == 0 {
			line, err = json.Marshal(signing.Envelope{PayloadType: signing.PayloadType, Payload: st})
		} else {
			line, ev.sbomSigstore, err = signing.SignForms(ctx, st, in.signers...)
		}
		if err != nil {
			return fmt.Errorf("signing the SBOM attestation: %w", err)
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return nil
	}
	ev.bundle, err = signing.Bundle(lines...)
	return err
}

// makeSBOM writes the SPDX document of the subjects and its statement.
func makeSBOM(in *prepared, out *built) ([]byte, []byte, error) {
	subjects := out.subjects()
	files := make([]sbom.File, 0, len(subjects))
	for _, a := range subjects {
		files = append(files, sbom.File{Name: a.Name, Digest: a.Digest, Size: a.Size})
	}
	created := sourceDateEpoch(in.env, out.finished)
	name := filepath.Base(in.workDir)
	doc, err := sbom.Document(name, files, created)
	if err != nil {
		return nil, nil, fmt.Errorf("writing the SBOM: %w", err)
	}
	st, err := sbom.Statement(name, files, created)
	if err != nil {
		return nil, nil, fmt.Errorf("attesting the SBOM: %w", err)
	}
	return doc, st, nil
}

// ErrUpstream reports a material whose upstream attestation does not
// vouch for it.
var ErrUpstream = errors.New("upstream attestation check failed")

// checkUpstream verifies the attestation a material names: signed by one
// of its keys (when keys are given), and a subject covering the material's
// sha256 as the core computed it.
func checkUpstream(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, m config.Material, got digest.Set) error {
	if m.Attestation == "" {
		return nil
	}
	verifiers, err := loadVerifiers(cfg, m.Keys)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	dest, err := t.ws.StagingPath("upstream.intoto.jsonl")
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(dest))
	if _, err := store.Get(ctx, m.Attestation, dest, remote.Quiet()); err != nil {
		return fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	f, err := os.Open(dest)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := attestation.Read(f)
	if err == nil {
		var up attestation.Upstream
		if up, err = attestation.CheckUpstream(data, verifiers, got[digest.SHA256]); err == nil {
			if !up.Signed {
				t.log.Warn("upstream attestation covers the material, but no keys were given to check who signed it", "material", store.Shown(m.URI))
			}
			t.log.Info("upstream attestation verified", "material", store.Shown(m.URI), "subject", up.Subject)
			return nil
		}
	}
	return fmt.Errorf("%w: %s: %w", ErrUpstream, store.Shown(m.Attestation), err)
}

// loadVerifiers reads the public keys a material's attestation must be
// signed with (paths relative to the config's folder).
func loadVerifiers(cfg *config.Config, keys []string) ([]signing.Verifier, error) {
	var out []signing.Verifier
	for _, k := range keys {
		kp := k
		if !filepath.IsAbs(kp) {
			kp = filepath.Join(filepath.Dir(cfg.Path), kp)
		}
		pem, err := os.ReadFile(kp)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k, err)
		}
		v, err := signing.LoadVerifier(pem)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k, err)
		}
		out = append(out, v)
	}
	return out, nil
}
