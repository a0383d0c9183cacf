package run

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// fetchedMaterial is a material verified by the core and in place in the
// materials folder.
type fetchedMaterial struct {
	uri    string
	name   string
	path   string
	isDir  bool
	digest digest.Set
	size   int64
}

// urlName is a material's file name when its plugin suggests none: the
// last segment of the URL's path, else its host (cas://name).
func urlName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	p := u.Path
	if u.Opaque != "" {
		p = u.Opaque
	}
	if p = strings.TrimRight(p, "/"); p == "" {
		return u.Host
	}
	return path.Base(p)
}

// checkMaterials checks what can be checked before anything is fetched: a
// digest where one is required (requireDigests; a warning where none is
// given).
func checkMaterials(t tools, mats []config.Material, requireDigests bool) error {
	for i, m := range mats {
		if len(m.Digest) > 0 {
			continue
		}
		if requireDigests {
			return fmt.Errorf("%s: materials[%d] %s has no digest (--require-digests)", m.Pos, i, t.red.String(remote.Redact(m.URI)))
		}
		t.log.Warn("material has no digest: it is fetched, hashed and recorded, but not verified", "uri", t.red.String(remote.Redact(m.URI)))
	}
	return nil
}

// placeMaterials names the fetched materials (the name their plugin
// suggests, else the URL's last segment), refuses two landing on one name,
// and moves them into the materials folder.
func placeMaterials(t tools, mats []config.Material, fetched []fetchedMaterial) error {
	seen := map[string]int{}
	for i := range fetched {
		m, fm := mats[i], &fetched[i]
		if !workspace.PlainName(fm.name) {
			return fmt.Errorf("%s: materials[%d].uri: no file name in URL %s", m.Pos, i, t.red.String(remote.Redact(m.URI)))
		}
		if j, dup := seen[fm.name]; dup {
			return fmt.Errorf("%s: materials[%d] and materials[%d] would both land as %s in %s", m.Pos, j, i, fm.name, MaterialsDirVar)
		}
		seen[fm.name] = i
	}
	for i := range fetched {
		fm := &fetched[i]
		final := filepath.Join(t.ws.Materials, fm.name)
		if err := os.Rename(fm.path, final); err != nil {
			return fmt.Errorf("%s: placing material %s: %w", mats[i].Pos, fm.name, err)
		}
		fm.path = final
	}
	return nil
}

// fetchMaterials fetches every material in parallel into the staging area,
// hashes it, refuses a digest mismatch, checks its upstream attestation,
// and moves it into the materials folder. Nothing runs before all are
// verified.
func fetchMaterials(ctx context.Context, t tools, store *remote.Store, cfg *config.Config) ([]fetchedMaterial, error) {
	mats := cfg.Materials
	out := make([]fetchedMaterial, len(mats))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, m := range mats {
		g.Go(func() error {
			fm, manifest, err := fetchMaterialOf(gctx, t, store, m, i)
			if err == nil {
				err = checkUpstream(gctx, t, store, cfg, m, fm.digest, manifest)
			}
			if err != nil {
				return materialError(m, store, err)
			}
			out[i] = *fm
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, placeMaterials(t, mats, out)
}

// materialError says which material failed; the URL once, also when the
// store's error already names it.
func materialError(m config.Material, store *remote.Store, err error) error {
	var re *remote.Error
	if errors.As(err, &re) && re.URL == store.Shown(m.URI) {
		return fmt.Errorf("%s: fetching material: %w", m.Pos, err)
	}
	return fmt.Errorf("%s: fetching material %s: %w", m.Pos, store.Shown(m.URI), err)
}

// fetchMaterialOf fetches a material; one whose attestation is attached
// to its image is resolved once to its manifest digest (returned) and
// fetched by that digest, so the layout the core hashes and the image whose
// attestations are checked are one.
func fetchMaterialOf(ctx context.Context, t tools, store *remote.Store, m config.Material, i int) (*fetchedMaterial, string, error) {
	if m.Attestation != config.AttestationAttached {
		fm, err := fetchMaterial(ctx, t, store, m, i)
		return fm, "", err
	}
	ref, err := config.ParseImage(m.URI)
	if err != nil {
		return nil, "", fmt.Errorf("%w: materials[%d].attestation: %s takes an image's uri: %w", ErrUpstream, i, config.AttestationAttached, err)
	}
	if !store.Capable(m.URI, storage.CapabilityAttached) {
		return nil, "", fmt.Errorf("%w: materials[%d].attestation: %s: the storage plugin serving %s:// does not announce %s: it cannot read what is attached to an image", ErrUpstream, i, config.AttestationAttached, ref.Scheme, storage.CapabilityAttached)
	}
	manifest := ref.Digest
	if manifest == "" {
		im := image{ref: ref, where: fmt.Sprintf("materials[%d].uri", i)}
		if manifest, err = resolveImage(ctx, store, im); err != nil {
			return nil, "", err
		}
		t.log.Info("material image resolved", "uri", store.Shown(m.URI), "digest", manifest)
	}
	byDigest := m
	byDigest.URI = ref.ByDigest(manifest)
	fm, err := fetchMaterial(ctx, t, store, byDigest, i)
	if err != nil {
		return nil, "", err
	}
	fm.uri = m.URI
	return fm, manifest, nil
}

// fetchMaterial gets one material into the staging area and verifies its
// digest; the material is not in the materials folder yet.
func fetchMaterial(ctx context.Context, t tools, store *remote.Store, m config.Material, i int) (*fetchedMaterial, error) {
	dest, err := t.ws.StagingPath(fmt.Sprintf("material-%d", i))
	if err != nil {
		return nil, err
	}
	obj, err := store.Get(ctx, m.URI, dest, remote.WithOptions(m.Options), remote.WithMaxBytes(m.Limit()))
	if err != nil {
		return nil, err
	}
	// A versioned plugin (git) returns the revision a ref resolved to, and
	// a material's sha1 digest is that revision, not a hash of the bytes.
	versioned := store.Capable(m.URI, storage.CapabilityRevision)
	set, size, isDir, err := hashFetched(ctx, obj, dest, extraAlgs(m, versioned), versioned)
	if err != nil {
		return nil, err
	}
	if len(m.Digest) > 0 {
		if err := digest.Matches(digest.Set(m.Digest), set); err != nil {
			return nil, err
		}
		t.log.Info("material verified", "uri", store.Shown(m.URI), "sha256", set[digest.SHA256], "bytes", size)
	} else {
		t.log.Info("material fetched and hashed", "uri", store.Shown(m.URI), "sha256", set[digest.SHA256], "bytes", size)
	}
	name := obj.Name
	if name == "" {
		name = urlName(m.URI)
	}
	return &fetchedMaterial{uri: m.URI, name: name, path: dest, isDir: isDir, digest: set, size: size}, nil
}

// hashFetched hashes what a plugin wrote at dest, by the core, and checks
// it is what the plugin said it wrote. A versioned source (git) resolves to
// a commit: its id is the sha1 recorded and compared, beside the sha256 of
// the bytes.
func hashFetched(ctx context.Context, obj *remote.Object, dest string, extra []string, versioned bool) (digest.Set, int64, bool, error) {
	fi, err := os.Lstat(dest)
	if err != nil {
		return nil, 0, false, fmt.Errorf("plugin %s reported success but wrote nothing: %w", obj.Plugin, err)
	}
	var set digest.Set
	var size int64
	switch {
	case fi.Mode().IsRegular():
		set, size, err = digest.File(dest, extra...)
	case fi.IsDir():
		set, size, err = digest.Tree(ctx, dest, extra...)
	default:
		err = fmt.Errorf("plugin %s wrote a %s, not a file or a directory", obj.Plugin, fi.Mode().Type())
	}
	if err != nil {
		return nil, 0, false, err
	}
	if obj.IsDir != fi.IsDir() {
		return nil, 0, false, fmt.Errorf("plugin %s said is_dir=%v but wrote is_dir=%v", obj.Plugin, obj.IsDir, fi.IsDir())
	}
	if obj.Revision != "" {
		if !versioned {
			return nil, 0, false, fmt.Errorf("plugin %s returned a revision but does not announce %s", obj.Plugin, storage.CapabilityRevision)
		}
		if !isCommitID(obj.Revision) {
			return nil, 0, false, fmt.Errorf("plugin %s returned a malformed revision %q", obj.Plugin, obj.Revision)
		}
		set[digest.SHA1] = strings.ToLower(obj.Revision)
	}
	return set, size, fi.IsDir(), nil
}

// extraAlgs are the algorithms besides sha256 the core computes for m: those
// its digest names, except a versioned source's sha1 (its revision).
func extraAlgs(m config.Material, versioned bool) []string {
	var extra []string
	for a := range m.Digest {
		if a != digest.SHA256 && !(a == digest.SHA1 && versioned) {
			extra = append(extra, a)
		}
	}
	return extra
}

func isCommitID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
