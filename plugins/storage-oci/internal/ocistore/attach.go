package ocistore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Media types and annotations of the layouts cosign reads.
const (
	// MediaTypeDSSE is a DSSE envelope's: attached in both layouts.
	MediaTypeDSSE = "application/vnd.dsse.envelope.v1+json"
	// mediaTypeInToto is the artifactType of a referrer holding DSSE
	// envelopes of in-toto statements (cosign's WriteAttestationsReferrer).
	mediaTypeInToto = "application/vnd.in-toto+json"
	// mediaTypeSigstoreBundle prefixes a Sigstore bundle's media type
	// ("application/vnd.dev.sigstore.bundle.v0.3+json").
	mediaTypeSigstoreBundle = "application/vnd.dev.sigstore.bundle"

	annotationCosignSignature = "dev.cosignproject.cosign/signature"
	annotationPredicateType   = "predicateType"
	annotationBundlePredicate = "dev.sigstore.bundle.predicateType"
	annotationBundleContent   = "dev.sigstore.bundle.content"
)

// Limits of an attachment.
const (
	// maxAttachment bounds the file attached (an envelope of a statement
	// is a few KiB; the core's attestations are bounded far below this).
	maxAttachment = 16 << 20
	// maxAttestations bounds the layers of an .att image, as cosign does.
	maxAttestations = 1000
)

// mediaTypeRE is what the OCI image spec allows as a media type.
var mediaTypeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`)

// Attach stores the file at req.SourcePath attached to the image the URL
// names by digest, in the layouts cosign reads:
//
//   - every file as an OCI 1.1 referrer of the image: a manifest whose
//     subject is the image, artifactType the file's media type (a DSSE
//     envelope's is in-toto's, application/vnd.in-toto+json), config the
//     empty descriptor and the file its one layer. A registry without the
//     referrers API gets go-containerregistry's referrers tag schema
//     (REPO:sha256-HEX, an index of the referrers) instead. cosign 3 and
//     cosign 2 with --new-bundle-format read the Sigstore bundles there;
//   - a DSSE envelope also as a layer of the image at cosign's attestation
//     tag, REPO:sha256-HEX.att, annotated dev.cosignproject.cosign/signature
//     "" and predicateType, appended to what the tag holds (other
//     attestations stay; the same envelope is not added twice). cosign 2's
//     verify-attestation reads it there.
//
// Each referrer's manifest has no timestamp, so attaching the same file
// again writes the same manifest. Updating the .att tag is a read and a
// write, as cosign does it: two attachers at once may lose one's layer.
func (s *Store) Attach(ctx context.Context, req *storage.AttachRequest) (*storage.AttachResponse, error) {
	c, err := s.begin(ctx, req.SubjectURL, req.Options)
	if err != nil {
		return nil, err
	}
	switch {
	case c.cfg.platform != nil:
		return nil, fmt.Errorf("%s: option platform chooses an image to get: Attach takes none", c.loc.shown)
	case !c.loc.byDigest():
		return nil, fmt.Errorf("%w: %s: attach to an image by its digest (oci://HOST/REPO@sha256:HEX)", storage.ErrInvalidURL, c.loc.shown)
	case !mediaTypeRE.MatchString(req.MediaType):
		return nil, fmt.Errorf("%s: attaching: media type %q is not a media type", c.loc.shown, req.MediaType)
	}
	data, err := readAttachment(req.SourcePath)
	if err != nil {
		return nil, err
	}
	p, err := remote.NewPuller(c.opts...)
	if err != nil {
		return nil, c.fail("connecting to the registry", err)
	}
	pusher, err := remote.NewPusher(c.opts...)
	if err != nil {
		return nil, c.fail("connecting to the registry", err)
	}
	got, err := p.Get(ctx, c.loc.ref)
	if err != nil {
		return nil, c.fail("reading the image to attach to", err)
	}
	subject := &got.Descriptor
	layer := static.NewLayer(data, types.MediaType(req.MediaType))
	ref, err := s.attachReferrer(ctx, pusher, c, subject, layer, req)
	if err != nil {
		return nil, err
	}
	locations := []string{"oci://" + ref.Name()}
	if req.MediaType == MediaTypeDSSE {
		tag, err := s.attachTag(ctx, p, pusher, c, subject, layer, req)
		if err != nil {
			return nil, err
		}
		locations = append(locations, "oci://"+tag.Name())
	}
	plugin.Logger().Debug("attached", "subject", c.loc.redacted, "media_type", req.MediaType, "locations", strings.Join(locations, " "))
	return &storage.AttachResponse{Locations: locations}, nil
}

// readAttachment reads the file to attach, within maxAttachment.
func readAttachment(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAttachment+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxAttachment {
		return nil, fmt.Errorf("attaching %s: more than %d bytes", path, maxAttachment)
	}
	return data, nil
}

// attachReferrer pushes the layer, then a manifest naming it whose subject
// is the image (go-containerregistry updates the referrers tag schema when
// the registry does not answer the referrers API).
func (s *Store) attachReferrer(ctx context.Context, pusher *remote.Pusher, c *call, subject *v1.Descriptor, layer v1.Layer, req *storage.AttachRequest) (name.Reference, error) {
	if err := pusher.Upload(ctx, c.loc.repo, static.NewLayer(emptyConfig, types.OCIEmptyJSON)); err != nil {
		return nil, c.fail("pushing the empty config", err)
	}
	if err := pusher.Upload(ctx, c.loc.repo, layer); err != nil {
		return nil, c.fail("pushing the attestation blob", err)
	}
	desc, err := partialDescriptor(layer)
	if err != nil {
		return nil, err
	}
	artifactType := req.MediaType
	annotations := maps.Clone(req.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	switch {
	case req.MediaType == MediaTypeDSSE:
		artifactType = mediaTypeInToto
		desc.Annotations = map[string]string{annotationPredicateType: req.PredicateType}
	case strings.HasPrefix(req.MediaType, mediaTypeSigstoreBundle) && req.PredicateType != "":
		annotations[annotationBundlePredicate] = req.PredicateType
		if _, ok := annotations[annotationBundleContent]; !ok {
			annotations[annotationBundleContent] = "dsse-envelope"
		}
	}
	if len(annotations) == 0 {
		annotations = nil
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Config:        emptyDescriptor(),
		Layers:        []v1.Descriptor{desc},
		Annotations:   annotations,
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	d := c.loc.repo.Digest(h.String())
	if err := pusher.Put(ctx, d, rawManifest{raw: raw, mediaType: types.OCIManifestSchema1}); err != nil {
		return nil, c.fail("pushing the referrer manifest", err)
	}
	return d, nil
}

// partialDescriptor describes a static layer.
func partialDescriptor(l v1.Layer) (v1.Descriptor, error) {
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	n, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: n}, nil
}

// attachTag appends the envelope to the image at cosign's attestation tag
// of the subject, REPO:sha256-HEX.att, or starts it.
func (s *Store) attachTag(ctx context.Context, p *remote.Puller, pusher *remote.Pusher, c *call, subject *v1.Descriptor, layer v1.Layer, req *storage.AttachRequest) (name.Reference, error) {
	tag := c.loc.repo.Tag(subject.Digest.Algorithm + "-" + subject.Digest.Hex + ".att")
	base, err := attestationImage(ctx, p, c, tag)
	if err != nil {
		return nil, err
	}
	digest, err := layer.Digest()
	if err != nil {
		return nil, err
	}
	m, err := base.Manifest()
	if err != nil {
		return nil, c.fail("reading "+tag.String(), err)
	}
	for _, l := range m.Layers {
		if l.Digest == digest {
			return tag, nil // attached already
		}
	}
	if len(m.Layers) >= maxAttestations {
		return nil, fmt.Errorf("%s: the tag %s holds %d attestations already, the most cosign reads", c.loc.shown, tag.TagStr(), len(m.Layers))
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, Annotations: map[string]string{
		annotationCosignSignature: "",
		annotationPredicateType:   req.PredicateType,
	}})
	if err != nil {
		return nil, err
	}
	if err := pusher.Push(ctx, tag, img); err != nil {
		return nil, c.fail("pushing "+tag.TagStr(), err)
	}
	return tag, nil
}

// attestationImage is the image at cosign's attestation tag, or cosign's
// empty signatures image (OCI media types) when the tag holds none.
func attestationImage(ctx context.Context, p *remote.Puller, c *call, ref name.Tag) (v1.Image, error) {
	d, err := p.Get(ctx, ref)
	switch {
	case err == nil:
		if !d.MediaType.IsImage() {
			return nil, fmt.Errorf("%s: the tag %s holds a %s, not cosign's attestations image", c.loc.shown, ref.TagStr(), d.MediaType)
		}
		img, err := d.Image()
		if err != nil {
			return nil, c.fail("reading "+ref.TagStr(), err)
		}
		return img, nil
	case errors.Is(sentinelOf(err), fs.ErrNotExist):
		base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		return mutate.ConfigMediaType(base, types.OCIConfigJSON), nil
	default:
		return nil, c.fail("reading "+ref.TagStr(), err)
	}
}

// sentinelOf is the storage sentinel a registry's answer amounts to.
func sentinelOf(err error) error {
	if s := sentinel(err); s != nil {
		return s
	}
	return err
}
