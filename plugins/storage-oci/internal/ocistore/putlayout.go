package ocistore

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// isLayout reports whether dir is an OCI image layout: an oci-layout file
// and an index.json beside it.
func isLayout(dir string) bool {
	for _, f := range []string{"oci-layout", "index.json"} {
		fi, err := os.Lstat(filepath.Join(dir, f))
		if err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// putLayout pushes the image (or image index) the OCI image layout at
// req.SourcePath names to the URL's tag: the one manifest its index.json
// names, or, of several, the image of the option platform. Blobs first,
// the manifest last (go-containerregistry's remote.Write); the registry
// checks every blob against its digest.
func (s *Store) putLayout(ctx context.Context, c *call, req *storage.PutRequest) (*storage.PutResponse, error) {
	where := fmt.Sprintf("%s: the OCI layout %s", c.loc.shown, req.SourcePath)
	p, err := layout.FromPath(req.SourcePath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%s: index.json: %w", where, err)
	}
	var chosen *v1.Descriptor
	switch {
	case len(im.Manifests) == 0:
		return nil, fmt.Errorf("%s: index.json names no manifest", where)
	case c.cfg.platform != nil:
		var have []string
		for i, m := range im.Manifests {
			if m.Platform != nil && m.Platform.Satisfies(*c.cfg.platform) {
				chosen = &im.Manifests[i]
				break
			}
			if m.Platform != nil {
				have = append(have, m.Platform.String())
			}
		}
		if chosen == nil {
			return nil, fmt.Errorf("%s: index.json names no manifest for platform %s (it has %v): %w", where, c.cfg.platform.String(), have, fs.ErrNotExist)
		}
	case len(im.Manifests) > 1:
		return nil, fmt.Errorf("%s: index.json names %d manifests: choose one with the option platform (os/arch), or write a layout of one image or index", where, len(im.Manifests))
	default:
		chosen = &im.Manifests[0]
	}
	opts := c.opts
	switch {
	case chosen.MediaType.IsIndex():
		ii, err := idx.ImageIndex(chosen.Digest)
		if err != nil {
			return nil, fmt.Errorf("%s: index %s: %w", where, chosen.Digest, err)
		}
		if err := remote.WriteIndex(c.loc.ref, ii, opts...); err != nil {
			return nil, c.fail("pushing the image index", err)
		}
	case chosen.MediaType.IsImage():
		img, err := idx.Image(chosen.Digest)
		if err != nil {
			return nil, fmt.Errorf("%s: image %s: %w", where, chosen.Digest, err)
		}
		if err := remote.Write(c.loc.ref, img, opts...); err != nil {
			return nil, c.fail("pushing the image", err)
		}
	default:
		return nil, fmt.Errorf("%s: index.json names a %q, neither an image nor an index", where, chosen.MediaType)
	}
	var bytes, files int64
	err = filepath.WalkDir(req.SourcePath, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		bytes += fi.Size()
		files++
		return nil
	})
	if err != nil {
		return nil, err
	}
	plugin.Logger().Info("image pushed from an OCI layout", "url", c.loc.redacted, "digest", chosen.Digest.String(), "mediaType", string(chosen.MediaType))
	return &storage.PutResponse{Bytes: bytes, Files: files, IsDir: true}, nil
}
