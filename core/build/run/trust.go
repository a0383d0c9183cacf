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
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// File names of the trust outputs, beside provenance.json locally and at
// the staging URL.
const (
	BundleName = "provenance.intoto.jsonl"
	SBOMName   = "sbom.spdx.json"
)

// trustOutputs are the files attest adds beside the statement.
type trustOutputs struct {
	bundle []byte // .intoto.jsonl: the provenance envelope, then the SBOM's
	sbom   []byte // SPDX JSON
}

// signers returns the keys the attestation is signed with: --sign-key
// (WithSigners) or the config's signing: entry.
func (r *runner) signers(secrets map[string]string) ([]signing.Signer, error) {
	if len(r.o.signers) > 0 {
		return r.o.signers, nil
	}
	s := r.cfg.Signing
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
			p = filepath.Join(filepath.Dir(r.cfg.Path), p)
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
func (r *runner) sourceDateEpoch(fallback time.Time) time.Time {
	for _, kv := range r.env {
		if len(kv) > len(SourceDateEpochVar)+1 && kv[:len(SourceDateEpochVar)+1] == SourceDateEpochVar+"=" {
			if n, err := strconv.ParseInt(kv[len(SourceDateEpochVar)+1:], 10, 64); err == nil {
				return time.Unix(n, 0).UTC()
			}
		}
	}
	return fallback.UTC()
}

// trust signs the statement and writes the SBOM, as configured.
func (r *runner) trust(ctx context.Context, statement []byte, subjects []Artifact, finished time.Time, signers []signing.Signer) (*trustOutputs, error) {
	out := &trustOutputs{}
	var lines [][]byte
	if len(signers) > 0 {
		env, err := signing.SignStatement(ctx, statement, signers...)
		if err != nil {
			return nil, fmt.Errorf("signing the attestation: %w", err)
		}
		lines = append(lines, env)
	}
	if r.cfg.SBOM || r.o.sbom {
		files := make([]sbom.File, 0, len(subjects))
		for _, a := range subjects {
			files = append(files, sbom.File{Name: a.Name, Digest: a.Digest, Size: a.Size})
		}
		created := r.sourceDateEpoch(finished)
		name := filepath.Base(r.workDir)
		doc, err := sbom.Document(name, files, created)
		if err != nil {
			return nil, fmt.Errorf("writing the SBOM: %w", err)
		}
		out.sbom = doc
		st, err := sbom.Statement(name, files, created)
		if err != nil {
			return nil, fmt.Errorf("attesting the SBOM: %w", err)
		}
		if len(signers) > 0 {
			env, err := signing.SignStatement(ctx, st, signers...)
			if err != nil {
				return nil, fmt.Errorf("signing the SBOM attestation: %w", err)
			}
			lines = append(lines, env)
		} else {
			// Unsigned: the statement travels as an envelope without
			// signatures, so the bundle keeps one format.
			env, err := json.Marshal(signing.Envelope{PayloadType: signing.PayloadType, Payload: st})
			if err != nil {
				return nil, err
			}
			if len(lines) == 0 {
				prov, err := json.Marshal(signing.Envelope{PayloadType: signing.PayloadType, Payload: statement})
				if err != nil {
					return nil, err
				}
				lines = append(lines, prov)
			}
			lines = append(lines, env)
		}
	}
	if len(lines) > 0 {
		b, err := signing.Bundle(lines...)
		if err != nil {
			return nil, err
		}
		out.bundle = b
	}
	return out, nil
}

// ErrUpstream reports a material whose upstream attestation does not
// vouch for it.
var ErrUpstream = errors.New("upstream attestation check failed")

// checkUpstream verifies the attestation a material names: signed by one
// of its keys (when keys are given), and a subject covering the material's
// sha256 as the core computed it.
func (r *runner) checkUpstream(ctx context.Context, m config.Material, got digest.Set) error {
	if m.Attestation == "" {
		return nil
	}
	st, p, err := r.storageFor(m.Attestation)
	if err != nil {
		return err
	}
	dest, err := r.ws.StagingPath("upstream.intoto.jsonl")
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(dest))
	if _, err := st.Get(ctx, &storage.GetRequest{URL: m.Attestation, DestPath: dest, Options: r.storageOptions(m.Attestation)}); err != nil {
		return fmt.Errorf("%w: fetching %s: %w", ErrUpstream, redactURL(m.Attestation), p.Explain(err))
	}
	fi, err := os.Stat(dest)
	if err != nil {
		return err
	}
	if fi.Size() > 16<<20 {
		return fmt.Errorf("%w: %s is larger than 16 MiB", ErrUpstream, redactURL(m.Attestation))
	}
	data, err := os.ReadFile(dest)
	if err != nil {
		return err
	}
	var verifiers []signing.Verifier
	for _, k := range m.Keys {
		kp := k
		if !filepath.IsAbs(kp) {
			kp = filepath.Join(filepath.Dir(r.cfg.Path), kp)
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
		return fmt.Errorf("%w: %s: %v", ErrUpstream, redactURL(m.Attestation), err)
	}
	var lastErr error
	for i := range envs {
		env := &envs[i]
		payload := env.Payload
		if len(verifiers) > 0 {
			if !env.Signed() {
				lastErr = fmt.Errorf("%w: %s is not signed, but keys are required", ErrUpstream, redactURL(m.Attestation))
				continue
			}
			p, _, err := signing.VerifyEnvelope(env, 1, verifiers...)
			if err != nil {
				lastErr = fmt.Errorf("%w: %s: signature: %v", ErrUpstream, redactURL(m.Attestation), err)
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
			lastErr = fmt.Errorf("%w: %s: %v", ErrUpstream, redactURL(m.Attestation), err)
			continue
		}
		for _, s := range stmt.Subject {
			if s.Digest[digest.SHA256] != "" && s.Digest[digest.SHA256] == got[digest.SHA256] {
				if len(verifiers) == 0 {
					r.o.logger.Warn("upstream attestation covers the material, but no keys were given to check who signed it", "material", redactURL(m.URI))
				}
				r.o.logger.Info("upstream attestation verified", "material", redactURL(m.URI), "subject", s.Name)
				return nil
			}
		}
		lastErr = fmt.Errorf("%w: no subject of %s has the material's sha256 %s", ErrUpstream, redactURL(m.Attestation), got[digest.SHA256])
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%w: %s holds no statement", ErrUpstream, redactURL(m.Attestation))
	}
	return lastErr
}
