package ocistore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mmbuild/mmbuild/sdk/safepath"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// The artifacts this plugin stores: an OCI image manifest whose
// artifactType says file or tree, an empty config, and one layer per file,
// its raw bytes, named by the layer's org.opencontainers.image.title (the
// path in the tree, "/"-separated; the file name for a file) as oras does,
// so `oras pull` unpacks them too.
const (
	ArtifactFile = "application/vnd.mmbuild.file.v1"
	ArtifactTree = "application/vnd.mmbuild.tree.v1"
	// LayerMediaType is the media type of a file's layer: its bytes as
	// they are.
	LayerMediaType = "application/octet-stream"

	AnnotationTitle = "org.opencontainers.image.title"
	// AnnotationMode holds a file's permission bits, in octal ("0755").
	AnnotationMode = "dev.mmbuild.mode"
	// AnnotationObject holds the object path of an object URL
	// (REPO//PATH), checked when it is read back.
	AnnotationObject = "dev.mmbuild.object"
)

// Limits of what a manifest may hold.
const (
	// maxManifestSize is the largest manifest read or written: the
	// distribution registry's own limit.
	maxManifestSize = 4 << 20
	// maxFiles bounds the files of a tree (each is a layer of ~300 bytes in
	// the manifest).
	maxFiles = 10000
)

// emptyConfig is the OCI empty descriptor's content, the config of an
// artifact.
var emptyConfig = []byte("{}")

// artifact is a file or tree this plugin stored, as its manifest says.
type artifact struct {
	dir    bool
	object string // AnnotationObject, "" for one put at a tag
	files  []artifactFile
	size   int64 // total of the files
}

// artifactFile is one layer of an artifact.
type artifactFile struct {
	rel  string // "/"-separated path in the tree; the file name for a file
	mode fs.FileMode
	desc v1.Descriptor
}

// parseArtifact reads a manifest this plugin wrote. It returns nil, nil for
// any other manifest (an image, an index, another tool's artifact). Every
// layer is checked before anything is written: a title that is not a plain
// relative path is storage.ErrUnsafePath.
func parseArtifact(d *remote.Descriptor) (*artifact, error) {
	if d.MediaType != types.OCIManifestSchema1 {
		return nil, nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(d.Manifest))
	if err != nil {
		return nil, nil // not ours: whatever it is, it is fetched as a layout
	}
	if m.ArtifactType != ArtifactFile && m.ArtifactType != ArtifactTree {
		return nil, nil
	}
	a := &artifact{dir: m.ArtifactType == ArtifactTree, object: m.Annotations[AnnotationObject]}
	if !a.dir && len(m.Layers) != 1 {
		return nil, fmt.Errorf("artifact %s: a file artifact has %d layers, want 1", d.Digest, len(m.Layers))
	}
	if len(m.Layers) > maxFiles {
		return nil, fmt.Errorf("artifact %s: %d files, more than the %d a tree may hold", d.Digest, len(m.Layers), maxFiles)
	}
	seen := map[string]bool{}
	for _, l := range m.Layers {
		rel := l.Annotations[AnnotationTitle]
		if err := safepath.Check(rel); err != nil {
			return nil, fmt.Errorf("artifact %s: layer %s titled %q: %w", d.Digest, l.Digest, rel, err)
		}
		if !a.dir && strings.Contains(rel, "/") {
			return nil, fmt.Errorf("artifact %s: a file titled %q: %w", d.Digest, rel, storage.ErrUnsafePath)
		}
		if seen[rel] {
			return nil, fmt.Errorf("artifact %s: two files titled %q", d.Digest, rel)
		}
		seen[rel] = true
		if l.Digest.Algorithm != "sha256" || l.Size < 0 {
			return nil, fmt.Errorf("artifact %s: layer %q: digest %s, size %d: want a sha256 and a size", d.Digest, rel, l.Digest, l.Size)
		}
		mode, err := parseMode(l.Annotations[AnnotationMode])
		if err != nil {
			return nil, fmt.Errorf("artifact %s: layer %q: %w", d.Digest, rel, err)
		}
		a.files = append(a.files, artifactFile{rel: rel, mode: mode, desc: l})
		a.size += l.Size
	}
	return a, nil
}

// parseMode reads AnnotationMode; none is 0644.
func parseMode(s string) (fs.FileMode, error) {
	if s == "" {
		return 0o644, nil
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf("mode %q is not permission bits in octal", s)
	}
	return fs.FileMode(n), nil
}

// dirs lists the folders the files of a need, parents first. A path that
// is both a file and a folder of other files is an error.
func (a *artifact) dirs() ([]string, error) {
	files := map[string]bool{}
	dirs := map[string]bool{}
	for _, f := range a.files {
		files[f.rel] = true
		for d := path.Dir(f.rel); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	out := make([]string, 0, len(dirs))
	for d := range dirs {
		if files[d] {
			return nil, fmt.Errorf("%q is both a file and a folder of other files: %w", d, storage.ErrUnsafePath)
		}
		out = append(out, d)
	}
	sort.Strings(out) // a parent sorts before its children
	return out, nil
}

// manifestOf is the manifest of an artifact holding files (sorted by path).
func manifestOf(dir bool, object string, files []artifactFile) ([]byte, error) {
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  ArtifactFile,
		Config:        emptyDescriptor(),
		Layers:        make([]v1.Descriptor, 0, len(files)),
	}
	if dir {
		m.ArtifactType = ArtifactTree
	}
	if object != "" {
		m.Annotations = map[string]string{AnnotationObject: object}
	}
	for _, f := range files {
		d := f.desc
		d.MediaType = LayerMediaType
		d.Annotations = map[string]string{AnnotationTitle: f.rel, AnnotationMode: fmt.Sprintf("%04o", f.mode.Perm())}
		m.Layers = append(m.Layers, d)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > maxManifestSize {
		return nil, fmt.Errorf("the manifest of %d files is %d bytes, more than the %d a registry takes: %w", len(files), len(b), maxManifestSize, errors.ErrUnsupported)
	}
	return b, nil
}

// emptyDescriptor describes emptyConfig.
func emptyDescriptor() v1.Descriptor {
	h, n, _ := v1.SHA256(bytes.NewReader(emptyConfig))
	return v1.Descriptor{MediaType: types.OCIEmptyJSON, Size: n, Digest: h}
}

// rawManifest is a manifest to push as it is.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// target is what a URL resolved to: the manifest, and the stored artifact
// it is, if it is one.
type target struct {
	desc     *remote.Descriptor
	artifact *artifact // nil for an image or anything else
}

// resolve reads the manifest the URL names. For an object URL it must be
// the object this plugin stored at that path.
func resolve(ctx context.Context, p *remote.Puller, c *call) (*target, error) {
	d, err := p.Get(ctx, c.loc.ref)
	if err != nil {
		return nil, c.fail("reading the manifest", err)
	}
	if len(d.Manifest) > maxManifestSize {
		return nil, fmt.Errorf("the manifest of %s is %d bytes, more than %d", c.loc.shown, len(d.Manifest), maxManifestSize)
	}
	a, err := parseArtifact(d)
	if err != nil {
		return nil, err
	}
	if c.loc.object != "" {
		switch {
		case a == nil:
			return nil, fmt.Errorf("%s: tag %s holds a %s, not an object this plugin stored", c.loc.shown, c.loc.ref.Identifier(), d.MediaType)
		case a.object != c.loc.object:
			return nil, fmt.Errorf("%s: tag %s holds the object %q, not %q", c.loc.shown, c.loc.ref.Identifier(), a.object, c.loc.object)
		}
	}
	return &target{desc: d, artifact: a}, nil
}
