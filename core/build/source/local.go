package source

import (
	"context"
	"errors"
	"fmt"
	"io"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// cloneLocal clones the repository at path (reached through url) into a new
// repository at dest without running git: go-git's own file transport would
// start git-upload-pack. The source is opened in place, the revision
// resolved there, and only the commit, its tree and its blobs are copied, as
// one pack, into dest, which is marked shallow like a depth-1 clone.
func cloneLocal(ctx context.Context, dest, path, url string, want plumbing.Hash, ref string) (*git.Repository, plumbing.Hash, error) {
	shown := StripCredentials(url)
	src, err := git.PlainOpen(path)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, plumbing.ZeroHash, fmt.Errorf("repository not found: no git repository at %s", path)
	}
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("opening repository: %w", err)
	}
	c, err := resolveLocal(src, shown, want, ref)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	objects, err := commitObjects(ctx, c)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}

	dst, err := git.PlainInit(dest, false)
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("creating repository: %w", err)
	}
	pw, ok := dst.Storer.(storer.PackfileWriter)
	if !ok {
		return nil, plumbing.ZeroHash, errors.New("repository storage cannot write packs")
	}
	w, err := pw.PackfileWriter()
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("writing pack: %w", err)
	}
	// Window 0: no delta search, objects are copied whole (a local clone
	// trades disk for time, as git's own does with hard links).
	_, err = packfile.NewEncoder(ctxWriter{ctx, w}, src.Storer, false).Encode(objects, 0)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("copying objects: %w", err)
	}
	if len(c.ParentHashes) > 0 {
		if err := dst.Storer.SetShallow([]plumbing.Hash{c.Hash}); err != nil {
			return nil, plumbing.ZeroHash, fmt.Errorf("marking the clone shallow: %w", err)
		}
	}
	if err := dst.Storer.SetReference(plumbing.NewHashReference(fetchedRef, c.Hash)); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if _, err := dst.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("adding remote: %w", err)
	}
	return dst, c.Hash, nil
}

// resolveLocal finds the commit to clone in the source repository.
func resolveLocal(src *git.Repository, shown string, want plumbing.Hash, ref string) (*object.Commit, error) {
	if !want.IsZero() {
		c, err := src.CommitObject(want)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, revisionNotFound(want.String(), shown, "")
		}
		if err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", want, err)
		}
		return c, nil
	}
	for _, name := range refCandidates(ref) {
		got, err := src.Reference(name, true)
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		h, err := peel(src, got.Hash())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return src.CommitObject(h)
	}
	if ref == "" || ref == "HEAD" {
		return nil, revisionNotFound("HEAD", shown, "the repository has no commits on its current branch")
	}
	return nil, revisionNotFound(ref, shown, "no branch or tag of that name")
}

// commitObjects lists the objects of one commit: the commit, its trees and
// its blobs, each once. Submodule entries name commits of other
// repositories and are left out, as a clone without --recurse-submodules
// does.
func commitObjects(ctx context.Context, c *object.Commit) ([]plumbing.Hash, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading tree of %s: %w", c.Hash, err)
	}
	seen := map[plumbing.Hash]bool{c.Hash: true, tree.Hash: true}
	list := []plumbing.Hash{c.Hash, tree.Hash}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		_, e, err := walker.Next()
		if err == io.EOF {
			return list, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading tree of %s: %w", c.Hash, err)
		}
		if e.Mode == filemode.Submodule || seen[e.Hash] {
			continue
		}
		seen[e.Hash] = true
		list = append(list, e.Hash)
	}
}

// ctxWriter fails writes once ctx is done, which stops a pack being written.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (w ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}
