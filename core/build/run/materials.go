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
	"github.com/mmbuild/mmbuild/core/evidence/digest"
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

// materialName is the file name a material gets in the materials folder:
// the last segment of its URL path (for git+ URLs, before "@rev").
func materialName(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	p := u.Path
	if u.Opaque != "" {
		p = u.Opaque
	}
	if strings.HasPrefix(u.Scheme, "git+") {
		if i := strings.LastIndexByte(p, '@'); i >= 0 {
			p = p[:i]
		}
		p = strings.TrimSuffix(p, ".git")
	}
	name := path.Base(strings.TrimRight(p, "/"))
	if name == "" || name == "." || name == ".." || name == "/" || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("no file name in URL %s", remote.Redact(raw))
	}
	return name, nil
}

// materialNames checks every material before anything is fetched: a file
// name for each, no two landing on the same name, a digest where one is
// required. It returns the names, in config order.
func materialNames(t tools, mats []config.Material) ([]string, error) {
	names := make([]string, len(mats))
	seen := map[string]int{}
	for i, m := range mats {
		name, err := materialName(m.URI)
		if err != nil {
			return nil, fmt.Errorf("%s: materials[%d].uri: %w", m.Pos, i, err)
		}
		if j, dup := seen[name]; dup {
			return nil, fmt.Errorf("%s: materials[%d] and materials[%d] would both land as %s in %s", m.Pos, j, i, name, MaterialsDirVar)
		}
		seen[name] = i
		names[i] = name
		if len(m.Digest) == 0 {
			if t.o.requireDigests {
				return nil, fmt.Errorf("%s: materials[%d] %s has no digest (--require-digests)", m.Pos, i, t.red.String(remote.Redact(m.URI)))
			}
			t.log.Warn("material has no digest: it is fetched, hashed and recorded, but not verified", "uri", t.red.String(remote.Redact(m.URI)))
		}
	}
	return names, nil
}

// fetchMaterials fetches every material in parallel into the staging area,
// hashes it, refuses a digest mismatch, checks its upstream attestation,
// and moves it into the materials folder. Nothing runs before all are
// verified.
func fetchMaterials(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, names []string) ([]fetchedMaterial, error) {
	mats := cfg.Materials
	out := make([]fetchedMaterial, len(mats))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, m := range mats {
		g.Go(func() error {
			fm, err := fetchMaterial(gctx, t, store, m, names[i])
			if err == nil {
				err = checkUpstream(gctx, t, store, cfg, m, fm.digest)
			}
			final := filepath.Join(t.ws.Materials, names[i])
			if err == nil {
				err = os.Rename(fm.path, final)
			}
			if err != nil {
				return materialError(m, store, err)
			}
			fm.path = final
			out[i] = *fm
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
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

// fetchMaterial gets one material into the staging area and verifies its
// digest; the material is not in the materials folder yet.
func fetchMaterial(ctx context.Context, t tools, store *remote.Store, m config.Material, name string) (*fetchedMaterial, error) {
	dest, err := t.ws.StagingPath(name)
	if err != nil {
		return nil, err
	}
	obj, err := store.Get(ctx, m.URI, dest, remote.WithOptions(m.Options))
	if err != nil {
		return nil, err
	}
	set, size, isDir, err := hashFetched(ctx, obj, dest, extraAlgs(m))
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
	return &fetchedMaterial{uri: m.URI, name: name, path: dest, isDir: isDir, digest: set, size: size}, nil
}

// hashFetched hashes what a plugin wrote at dest, by the core, and checks
// it is what the plugin said it wrote. A versioned source (git) resolves to
// a commit: its id is the sha1 recorded and compared, beside the sha256 of
// the bytes.
func hashFetched(ctx context.Context, obj *remote.Object, dest string, extra []string) (digest.Set, int64, bool, error) {
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
		if !isCommitID(obj.Revision) {
			return nil, 0, false, fmt.Errorf("plugin %s returned a malformed revision %q", obj.Plugin, obj.Revision)
		}
		set[digest.SHA1] = strings.ToLower(obj.Revision)
	}
	return set, size, fi.IsDir(), nil
}

// extraAlgs are the algorithms besides sha256 the core computes for m: those
// its digest names, except a versioned source's sha1 (its commit).
func extraAlgs(m config.Material) []string {
	var extra []string
	for a := range m.Digest {
		if a != digest.SHA256 && !(a == digest.SHA1 && isVersioned(m.URI)) {
			extra = append(extra, a)
		}
	}
	return extra
}

// isVersioned reports whether a URL names a versioned source, whose sha1
// digest is the commit it resolved to, not a hash of bytes.
func isVersioned(rawURL string) bool { return strings.HasPrefix(strings.ToLower(rawURL), "git+") }

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
