package ocistore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Limits of an image fetched as a layout.
const (
	// maxManifests bounds the manifests of an index (its platforms, and
	// the indexes and manifests below them).
	maxManifests = 1000
	// maxDepth bounds the nesting of indexes.
	maxDepth = 4
	// maxBlobs bounds the blobs of an image layout.
	maxBlobs = 20000
)

// layoutVersion is the OCI image layout's oci-layout file.
const layoutVersion = `{"imageLayoutVersion":"1.0.0"}`

// imagePlan is everything an OCI image layout of one manifest holds: the
// manifests (read while planning, their bytes checked against their
// digests) and the blobs they name (configs and layers), each once.
type imagePlan struct {
	top       v1.Descriptor // what index.json names
	index     []byte        // index.json
	manifests map[v1.Hash][]byte
	blobs     []v1.Descriptor
	size      int64 // total bytes of the layout's files
}

// planImage walks the manifest d names: an image, or an index and the
// images below it (only the image of the call's platform option, when
// set).
func planImage(ctx context.Context, p *remote.Puller, c *call, d *remote.Descriptor) (*imagePlan, error) {
	plan := &imagePlan{manifests: map[v1.Hash][]byte{}}
	top := d.Descriptor
	raw := d.Manifest
	if c.cfg.platform != nil && top.MediaType.IsIndex() {
		child, err := pickPlatform(raw, *c.cfg.platform)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.loc.shown, err)
		}
		if raw, err = fetchManifest(ctx, p, c, child); err != nil {
			return nil, err
		}
		top = child
	}
	top = v1.Descriptor{MediaType: top.MediaType, Size: top.Size, Digest: top.Digest}
	plan.top = top
	index, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{top}})
	if err != nil {
		return nil, err
	}
	plan.index = index
	plan.size = int64(len(index) + len(layoutVersion))
	seen := map[v1.Hash]bool{}
	if err := plan.walk(ctx, p, c, top, raw, 0, seen); err != nil {
		return nil, err
	}
	return plan, nil
}

// pickPlatform chooses the manifest of an index that platform satisfies.
func pickPlatform(raw []byte, want v1.Platform) (v1.Descriptor, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("parsing the image index: %w", err)
	}
	var have []string
	for _, m := range idx.Manifests {
		if m.Platform != nil && m.MediaType.IsImage() {
			if m.Platform.Satisfies(want) {
				return m, nil
			}
			have = append(have, m.Platform.String())
		}
	}
	return v1.Descriptor{}, fmt.Errorf("the image index has no image for platform %s (it has %v): %w", want.String(), have, fs.ErrNotExist)
}

// fetchManifest reads the manifest d names by its digest (checked by
// go-containerregistry).
func fetchManifest(ctx context.Context, p *remote.Puller, c *call, d v1.Descriptor) ([]byte, error) {
	if d.Size > maxManifestSize {
		return nil, fmt.Errorf("manifest %s: %d bytes, more than %d", d.Digest, d.Size, maxManifestSize)
	}
	got, err := p.Get(ctx, c.loc.repo.Digest(d.Digest.String()))
	if err != nil {
		return nil, c.fail("reading manifest "+d.Digest.String(), err)
	}
	if got.Size != d.Size {
		return nil, fmt.Errorf("manifest %s: %d bytes, its descriptor says %d", d.Digest, got.Size, d.Size)
	}
	return got.Manifest, nil
}

// walk adds the manifest d (whose bytes are raw) and what it names.
func (plan *imagePlan) walk(ctx context.Context, p *remote.Puller, c *call, d v1.Descriptor, raw []byte, depth int, seen map[v1.Hash]bool) error {
	if seen[d.Digest] {
		return nil
	}
	seen[d.Digest] = true
	if len(plan.manifests) >= maxManifests {
		return fmt.Errorf("%s: more than %d manifests: %w", c.loc.shown, maxManifests, errors.ErrUnsupported)
	}
	plan.manifests[d.Digest] = raw
	plan.size += int64(len(raw))
	switch {
	case d.MediaType.IsIndex():
		if depth >= maxDepth {
			return fmt.Errorf("%s: indexes nested more than %d deep: %w", c.loc.shown, maxDepth, errors.ErrUnsupported)
		}
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: parsing index %s: %w", c.loc.shown, d.Digest, err)
		}
		for _, child := range idx.Manifests {
			if seen[child.Digest] {
				continue
			}
			if !child.MediaType.IsIndex() && !child.MediaType.IsImage() && child.MediaType != types.OCIManifestSchema1 {
				return fmt.Errorf("%s: index %s names a %q: %w", c.loc.shown, d.Digest, child.MediaType, errors.ErrUnsupported)
			}
			b, err := fetchManifest(ctx, p, c, child)
			if err != nil {
				return err
			}
			if err := plan.walk(ctx, p, c, child, b, depth+1, seen); err != nil {
				return err
			}
		}
	case d.MediaType == types.OCIManifestSchema1 || d.MediaType == types.DockerManifestSchema2:
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: parsing manifest %s: %w", c.loc.shown, d.Digest, err)
		}
		for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if seen[b.Digest] {
				continue
			}
			seen[b.Digest] = true
			switch {
			case len(b.URLs) > 0 || !b.MediaType.IsDistributable():
				return fmt.Errorf("%s: blob %s is a foreign layer (%s), held elsewhere: %w", c.loc.shown, b.Digest, b.MediaType, errors.ErrUnsupported)
			case b.Digest.Algorithm != "sha256" || b.Size < 0:
				return fmt.Errorf("%s: blob %s of %d bytes: want a sha256 digest and a size", c.loc.shown, b.Digest, b.Size)
			case len(plan.blobs) >= maxBlobs:
				return fmt.Errorf("%s: more than %d blobs: %w", c.loc.shown, maxBlobs, errors.ErrUnsupported)
			}
			plan.blobs = append(plan.blobs, b)
			plan.size += b.Size
		}
	default:
		return fmt.Errorf("%s: %s is a %q, neither an image nor an index: %w", c.loc.shown, d.Digest, d.MediaType, errors.ErrUnsupported)
	}
	return nil
}

// getImage writes the manifest d names, and all it names, as an OCI image
// layout in the new directory req.DestPath: oci-layout, index.json naming
// the one manifest (without annotations, so the layout, and so its digest,
// is the same whether it was fetched by tag or by digest), and
// blobs/sha256/<hex>.
func (s *Store) getImage(ctx context.Context, p *remote.Puller, c *call, d *remote.Descriptor, req *storage.GetRequest) (*storage.GetResponse, error) {
	plan, err := planImage(ctx, p, c, d)
	if err != nil {
		return nil, err
	}
	root, err := newDir(req.DestPath)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if err := root.MkdirAll(path.Join("blobs", "sha256"), 0o755); err != nil {
		return nil, err
	}
	prog := progress.NewMeter(req.Report, plan.size)
	write := func(name string, data []byte) error {
		if err := root.WriteFile(name, data, 0o644); err != nil {
			return err
		}
		prog.Add(int64(len(data)), "")
		return nil
	}
	files := int64(2)
	for h, raw := range plan.manifests {
		if err := write(blobPath(h), raw); err != nil {
			return nil, err
		}
		files++
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.jobs)
	for _, b := range plan.blobs {
		files++
		g.Go(func() error { return s.fetchBlob(gctx, p, c, b, root, blobPath(b.Digest), 0o644, prog) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := write("oci-layout", []byte(layoutVersion)); err != nil {
		return nil, err
	}
	if err := write("index.json", plan.index); err != nil {
		return nil, err
	}
	plugin.Logger().Info("image fetched as an OCI layout", "url", c.loc.redacted, "digest", plan.top.Digest.String(), "mediaType", string(plan.top.MediaType), "blobs", len(plan.blobs)+len(plan.manifests))
	return &storage.GetResponse{Bytes: plan.size, Files: files, IsDir: true}, nil
}

// blobPath is where a layout keeps the blob of h.
func blobPath(h v1.Hash) string { return path.Join("blobs", h.Algorithm, h.Hex) }
