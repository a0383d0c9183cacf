package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// ErrUpstream reports a material whose upstream attestation does not
// vouch for it.
var ErrUpstream = errors.New("upstream attestation check failed")

// checkUpstream verifies the attestation a material names: signed by one
// of its keys (when keys are given), and a subject covering the material's
// sha256 as the core computed it. With attestation: attached, the
// attestations attached to the material's image (manifest, its manifest
// digest) are read instead, and one of them must vouch for that digest.
func checkUpstream(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, m config.Material, got digest.Set, manifest string) error {
	if m.Attestation == "" {
		return nil
	}
	trust, err := loadTrust(cfg, m)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	if m.Attestation == config.AttestationAttached {
		return checkAttached(ctx, t, store, m, trust, manifest)
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
		if up, err = attestation.CheckUpstream(data, trust, got[digest.SHA256]); err == nil {
			if !up.Signed {
				t.log.Warn("upstream attestation covers the material, but no keys were given to check who signed it", "material", store.Shown(m.URI))
			}
			t.log.Info("upstream attestation verified", "material", store.Shown(m.URI), "subject", up.Subject, "keyless_signer", up.Signer)
			return nil
		}
	}
	return fmt.Errorf("%w: %s: %w", ErrUpstream, store.Shown(m.Attestation), err)
}

// checkAttached accepts a material's image when one of the attestations
// attached to it (through the storage plugin's storage:attached) is signed
// by one of the material's keys and has a subject whose sha256 is the
// image's manifest digest. None attached, or none that vouches for it: one
// line saying why (the refusal of each file, once per distinct reason).
func checkAttached(ctx context.Context, t tools, store *remote.Store, m config.Material, trust attestation.Trust, manifest string) error {
	ref, err := config.ParseImage(m.URI)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	subject := ref.ByDigest(manifest)
	dest, err := t.ws.StagingPath("attached")
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(dest))
	resp, err := store.Attached(ctx, storage.AttachedRequest{SubjectURL: subject, DestPath: dest})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	if len(resp.Files) == 0 {
		return fmt.Errorf("%w: no attestation is attached to %s: the image has no signed provenance", ErrUpstream, store.Shown(subject))
	}
	want := strings.TrimPrefix(manifest, "sha256:")
	var reasons []string
	for _, f := range resp.Files {
		if !workspace.PlainName(f.Name) {
			return fmt.Errorf("%w: %s: the storage plugin named an attached file %q, not a file name", ErrUpstream, store.Shown(subject), f.Name)
		}
		data, err := attestation.ReadFile(filepath.Join(dest, f.Name))
		if err == nil {
			var up attestation.Upstream
			if up, err = attestation.CheckUpstream(data, trust, want); err == nil {
				t.log.Info("upstream attestation verified", "material", store.Shown(m.URI), "image", store.Shown(subject), "attached", store.Shown(f.Location), "subject", up.Subject)
				return nil
			}
		}
		if r := err.Error(); !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	return fmt.Errorf("%w: none of the %d attestations attached to %s vouches for it with the keys given: %s", ErrUpstream, len(resp.Files), store.Shown(subject), strings.Join(reasons, "; "))
}
