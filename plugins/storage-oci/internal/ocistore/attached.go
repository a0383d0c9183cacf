package ocistore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// maxAttachedBytes bounds the files one Attached call writes.
const maxAttachedBytes = 64 << 20

// Attached writes the attestations attached to the image the URL names by
// digest into the new folder req.DestPath, from the two layouts Attach
// writes and cosign reads:
//
//   - its OCI 1.1 referrers (the referrers API, or the referrers tag schema
//     REPO:sha256-HEX) whose artifactType is in-toto's
//     (application/vnd.in-toto+json) or a Sigstore bundle's: each layer that
//     is a DSSE envelope, an in-toto document or a Sigstore bundle;
//   - the layers of cosign's attestation tag, REPO:sha256-HEX.att, that are
//     DSSE envelopes.
//
// Each blob once (by digest), checked against its digest as it is read,
// named N.dsse.json or N.sigstore.json in that order. At most
// maxAttestations files of at most maxAttachment bytes each, and
// maxAttachedBytes in all. Nothing attached is an empty response.
func (s *Store) Attached(ctx context.Context, req *storage.AttachedRequest) (resp *storage.AttachedResponse, err error) {
	c, err := s.begin(ctx, req.SubjectURL, req.Options)
	if err != nil {
		return nil, err
	}
	switch {
	case c.cfg.platform != nil:
		return nil, fmt.Errorf("%s: option platform chooses an image to get: Attached takes none", c.loc.shown)
	case !c.loc.byDigest():
		return nil, fmt.Errorf("%w: %s: name the image by its digest (oci://HOST/REPO@sha256:HEX) to read what is attached to it", storage.ErrInvalidURL, c.loc.shown)
	}
	p, err := remote.NewPuller(c.opts...)
	if err != nil {
		return nil, c.fail("connecting to the registry", err)
	}
	if _, err := p.Get(ctx, c.loc.ref); err != nil {
		return nil, c.fail("reading the image", err)
	}
	var found []attachedBlob
	seen := map[v1.Hash]bool{}
	add := func(b attachedBlob) error {
		if seen[b.desc.Digest] {
			return nil
		}
		seen[b.desc.Digest] = true
		switch {
		case len(found) >= maxAttestations:
			return fmt.Errorf("%s: more than %d attestations attached: %w", c.loc.shown, maxAttestations, errors.ErrUnsupported)
		case b.desc.Size < 0 || b.desc.Size > maxAttachment:
			return fmt.Errorf("%s: the attestation %s at %s is %d bytes, more than %d", c.loc.shown, b.desc.Digest, b.location, b.desc.Size, maxAttachment)
		}
		found = append(found, b)
		return nil
	}
	digest := c.loc.ref.(name.Digest)
	if err := s.attachedReferrers(ctx, p, c, digest, add); err != nil {
		return nil, err
	}
	if err := s.attachedTag(ctx, p, c, digest, add); err != nil {
		return nil, err
	}
	var total int64
	for _, b := range found {
		total += b.desc.Size
	}
	if total > maxAttachedBytes {
		return nil, fmt.Errorf("%s: the attestations attached are %d bytes, more than %d", c.loc.shown, total, maxAttachedBytes)
	}
	root, err := newDir(req.DestPath)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	defer func() {
		if err != nil {
			os.RemoveAll(req.DestPath)
		}
	}()
	prog := progress.NewMeter(func(storage.Progress) {}, total)
	resp = &storage.AttachedResponse{}
	for i, b := range found {
		ext := ".dsse.json"
		if strings.HasPrefix(string(b.desc.MediaType), mediaTypeSigstoreBundle) {
			ext = ".sigstore.json"
		}
		f := storage.AttachedFile{Name: fmt.Sprint(i) + ext, MediaType: string(b.desc.MediaType), Location: b.location}
		if err := s.fetchBlob(ctx, p, c, b.desc, root, f.Name, 0o644, prog); err != nil {
			return nil, err
		}
		resp.Files = append(resp.Files, f)
	}
	plugin.Logger().Debug("attached read", "subject", c.loc.redacted, "files", len(resp.Files))
	return resp, nil
}

// attachedBlob is one attestation attached to an image: its blob and the
// manifest holding it.
type attachedBlob struct {
	desc     v1.Descriptor
	location string
}

// attestationLayer reports whether a layer of a referrer is an attestation
// the core reads.
func attestationLayer(mt types.MediaType) bool {
	return mt == MediaTypeDSSE || mt == mediaTypeInToto || strings.HasPrefix(string(mt), mediaTypeSigstoreBundle)
}

// attachedReferrers adds the attestation layers of the image's referrers
// whose artifactType is in-toto's or a Sigstore bundle's.
func (s *Store) attachedReferrers(ctx context.Context, p *remote.Puller, c *call, d name.Digest, add func(attachedBlob) error) error {
	idx, err := remote.Referrers(d, c.opts...)
	if err != nil {
		if errors.Is(sentinelOf(err), fs.ErrNotExist) {
			return nil
		}
		return c.fail("listing the referrers", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return c.fail("listing the referrers", err)
	}
	for _, r := range im.Manifests {
		if r.ArtifactType != mediaTypeInToto && !strings.HasPrefix(r.ArtifactType, mediaTypeSigstoreBundle) {
			continue
		}
		if r.MediaType != types.OCIManifestSchema1 {
			continue
		}
		raw, err := fetchManifest(ctx, p, c, r)
		if err != nil {
			return err
		}
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: parsing the referrer %s: %w", c.loc.shown, r.Digest, err)
		}
		location := "oci://" + c.loc.repo.Digest(r.Digest.String()).Name()
		for _, l := range m.Layers {
			if attestationLayer(l.MediaType) {
				if err := add(attachedBlob{desc: l, location: location}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// attachedTag adds the DSSE envelopes of cosign's attestation tag of the
// image, REPO:sha256-HEX.att, when there is one.
func (s *Store) attachedTag(ctx context.Context, p *remote.Puller, c *call, d name.Digest, add func(attachedBlob) error) error {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return fmt.Errorf("%s: %w", c.loc.shown, err)
	}
	tag := c.loc.repo.Tag(h.Algorithm + "-" + h.Hex + ".att")
	got, err := p.Get(ctx, tag)
	switch {
	case errors.Is(sentinelOf(err), fs.ErrNotExist):
		return nil
	case err != nil:
		return c.fail("reading "+tag.TagStr(), err)
	case got.MediaType != types.OCIManifestSchema1 && got.MediaType != types.DockerManifestSchema2:
		return fmt.Errorf("%s: the tag %s holds a %s, not cosign's attestations image", c.loc.shown, tag.TagStr(), got.MediaType)
	}
	m, err := v1.ParseManifest(bytes.NewReader(got.Manifest))
	if err != nil {
		return fmt.Errorf("%s: parsing %s: %w", c.loc.shown, tag.TagStr(), err)
	}
	for _, l := range m.Layers {
		if l.MediaType == MediaTypeDSSE {
			if err := add(attachedBlob{desc: l, location: "oci://" + tag.Name()}); err != nil {
				return err
			}
		}
	}
	return nil
}
