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
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// File names of the trust outputs, beside provenance.json locally and at
// the staging URL.
const (
	BundleName = "provenance.intoto.jsonl"
	SBOMName   = "sbom.spdx.json"
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

// signAndSBOM signs the statement and writes the SBOM, as configured. It
// returns the .intoto.jsonl bundle (nil when neither is asked for) and the
// SBOM document (nil without one).
func signAndSBOM(ctx context.Context, t tools, cfg *config.Config, in *prepared, statement []byte, out *built) ([]byte, []byte, error) {
	var lines [][]byte
	if len(in.signers) > 0 {
		env, err := signing.SignStatement(ctx, statement, in.signers...)
		if err != nil {
			return nil, nil, fmt.Errorf("signing the attestation: %w", err)
		}
		lines = append(lines, env)
	}
	var doc []byte
	if cfg.SBOM || t.o.sbom {
		var sbomLine []byte
		var err error
		doc, sbomLine, err = makeSBOM(ctx, in, out)
		if err != nil {
			return nil, nil, err
		}
		if len(lines) == 0 {
			// Unsigned: the statement travels as an envelope without
			// signatures, so the bundle keeps one format.
			prov, err := json.Marshal(signing.Envelope{PayloadType: signing.PayloadType, Payload: statement})
			if err != nil {
				return nil, nil, err
			}
			lines = append(lines, prov)
		}
		lines = append(lines, sbomLine)
	}
	if len(lines) == 0 {
		return nil, doc, nil
	}
	b, err := signing.Bundle(lines...)
	return b, doc, err
}

// makeSBOM writes the SPDX document of the subjects and its statement as a
// bundle line (an envelope, signed when the run signs).
func makeSBOM(ctx context.Context, in *prepared, out *built) ([]byte, []byte, error) {
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
	if len(in.signers) == 0 {
		line, err := json.Marshal(signing.Envelope{PayloadType: signing.PayloadType, Payload: st})
		return doc, line, err
	}
	line, err := signing.SignStatement(ctx, st, in.signers...)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the SBOM attestation: %w", err)
	}
	return doc, line, nil
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
	dest, err := t.ws.StagingPath("upstream.intoto.jsonl")
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(dest))
	if _, err := store.Get(ctx, m.Attestation, dest, remote.Quiet()); err != nil {
		return fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	fi, err := os.Stat(dest)
	if err != nil {
		return err
	}
	if fi.Size() > 16<<20 {
		return fmt.Errorf("%w: %s is larger than 16 MiB", ErrUpstream, remote.Redact(m.Attestation))
	}
	data, err := os.ReadFile(dest)
	if err != nil {
		return err
	}
	var verifiers []signing.Verifier
	for _, k := range m.Keys {
		kp := k
		if !filepath.IsAbs(kp) {
			kp = filepath.Join(filepath.Dir(cfg.Path), kp)
		}
		pem, err := os.ReadFile(kp)
		if err != nil {
			return fmt.Errorf("%w: key %s: %v", ErrUpstream, k, err)
		}
		v, err := signing.LoadVerifier(pem)
		if err != nil {
			return fmt.Errorf("%w: key %s: %v", ErrUpstream, k, err)
		}
		verifiers = append(verifiers, v)
	}
	envs, err := signing.ReadBundle(data)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUpstream, remote.Redact(m.Attestation), err)
	}
	var lastErr error
	for i := range envs {
		env := &envs[i]
		payload := env.Payload
		if len(verifiers) > 0 {
			if !env.Signed() {
				lastErr = fmt.Errorf("%w: %s is not signed, but keys are required", ErrUpstream, remote.Redact(m.Attestation))
				continue
			}
			p, _, err := signing.VerifyEnvelope(env, 1, verifiers...)
			if err != nil {
				lastErr = fmt.Errorf("%w: %s: signature: %v", ErrUpstream, remote.Redact(m.Attestation), err)
				continue
			}
			payload = p
		}
		var stmt struct {
			Subject []struct {
				Name   string            `json:"name"`
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(payload, &stmt); err != nil {
			lastErr = fmt.Errorf("%w: %s: %v", ErrUpstream, remote.Redact(m.Attestation), err)
			continue
		}
		for _, s := range stmt.Subject {
			if s.Digest[digest.SHA256] != "" && s.Digest[digest.SHA256] == got[digest.SHA256] {
				if len(verifiers) == 0 {
					t.log.Warn("upstream attestation covers the material, but no keys were given to check who signed it", "material", remote.Redact(m.URI))
				}
				t.log.Info("upstream attestation verified", "material", remote.Redact(m.URI), "subject", s.Name)
				return nil
			}
		}
		lastErr = fmt.Errorf("%w: no subject of %s has the material's sha256 %s", ErrUpstream, remote.Redact(m.Attestation), got[digest.SHA256])
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%w: %s holds no statement", ErrUpstream, remote.Redact(m.Attestation))
	}
	return lastErr
}
