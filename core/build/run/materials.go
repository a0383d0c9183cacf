package run

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/mmbuild/mmbuild/core/build/config"
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
		return "", fmt.Errorf("no file name in URL %s", redactURL(raw))
	}
	return name, nil
}

// fetchMaterials fetches every material in parallel through its storage
// plugin into the staging area, hashes it, refuses a digest mismatch, and
// moves it into the materials folder. Nothing runs before all are verified.
func (r *runner) fetchMaterials(ctx context.Context) error {
	mats := r.cfg.Materials
	names := map[string]int{}
	for i, m := range mats {
		name, err := materialName(m.URI)
		if err != nil {
			return fmt.Errorf("%s: materials[%d].uri: %w", m.Pos, i, err)
		}
		if j, dup := names[name]; dup {
			return fmt.Errorf("%s: materials[%d] and materials[%d] would both land as %s in %s", m.Pos, j, i, name, MaterialsDirVar)
		}
		names[name] = i
		if len(m.Digest) == 0 {
			if r.o.requireDigests {
				return fmt.Errorf("%s: materials[%d] %s has no digest (--require-digests)", m.Pos, i, redactURL(m.URI))
			}
			r.o.logger.Warn("material has no digest: it is fetched, hashed and recorded, but not verified", "uri", redactURL(m.URI))
		}
	}
	out := make([]fetchedMaterial, len(mats))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, m := range mats {
		g.Go(func() error {
			name, _ := materialName(m.URI)
			fm, err := r.fetchMaterial(gctx, m, name)
			if err != nil {
				return fmt.Errorf("%s: fetching material %s: %w", m.Pos, redactURL(m.URI), err)
			}
			out[i] = *fm
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	r.materials = out
	return nil
}

func (r *runner) fetchMaterial(ctx context.Context, m config.Material, name string) (*fetchedMaterial, error) {
	st, p, err := r.storageFor(m.URI)
	if err != nil {
		return nil, err
	}
	dest, err := r.ws.StagingPath(name)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(filepath.Dir(dest))
	resp, err := st.Get(ctx, &storage.GetRequest{URL: m.URI, DestPath: dest, Options: r.storageOptions(m.URI), Progress: r.progressFunc("get", m.URI)})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("not found: %w", p.Explain(err))
		}
		return nil, p.Explain(err)
	}
	r.o.progress.Finish("get", redactURL(m.URI), resp.Bytes)
	fi, err := os.Lstat(dest)
	if err != nil {
		return nil, fmt.Errorf("plugin %s reported success but wrote nothing: %w", p.Name, err)
	}
	var extra []string
	for a := range m.Digest {
		if a != digest.SHA256 && !(a == digest.SHA1 && isVersioned(m.URI)) {
			extra = append(extra, a)
		}
	}
	var set digest.Set
	var size int64
	switch {
	case fi.Mode().IsRegular():
		set, size, err = digest.File(dest, extra...)
	case fi.IsDir():
		set, size, err = digest.Tree(ctx, dest, extra...)
	default:
		err = fmt.Errorf("plugin %s wrote a %s, not a file or a directory", p.Name, fi.Mode().Type())
	}
	if err != nil {
		return nil, err
	}
	if resp.IsDir != fi.IsDir() {
		return nil, fmt.Errorf("plugin %s said is_dir=%v but wrote is_dir=%v", p.Name, resp.IsDir, fi.IsDir())
	}
	// A versioned source (git) resolves to a commit: its id is the sha1
	// digest recorded and compared, beside the sha256 of the bytes the core
	// hashed itself.
	if resp.Revision != "" {
		if !isCommitID(resp.Revision) {
			return nil, fmt.Errorf("plugin %s returned a malformed revision %q", p.Name, resp.Revision)
		}
		set[digest.SHA1] = strings.ToLower(resp.Revision)
	}
	if len(m.Digest) > 0 {
		if err := digest.Matches(digest.Set(m.Digest), set); err != nil {
			return nil, err
		}
	}
	if err := r.checkUpstream(ctx, m, set); err != nil {
		return nil, err
	}
	final := filepath.Join(r.ws.Materials, name)
	if err := os.Rename(dest, final); err != nil {
		return nil, err
	}
	if len(m.Digest) > 0 {
		r.o.logger.Info("material verified", "uri", redactURL(m.URI), "sha256", set[digest.SHA256], "bytes", size)
	} else {
		r.o.logger.Info("material fetched and hashed", "uri", redactURL(m.URI), "sha256", set[digest.SHA256], "bytes", size)
	}
	return &fetchedMaterial{uri: m.URI, name: name, path: final, isDir: fi.IsDir(), digest: set, size: size}, nil
}

// progressFunc forwards a plugin's progress to the run's reporter, with the
// URL redacted.
func (r *runner) progressFunc(op, rawURL string) storage.ProgressFunc {
	u := redactURL(rawURL)
	return func(p storage.Progress) { r.o.progress.Update(op, u, p.DoneBytes, p.TotalBytes) }
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
