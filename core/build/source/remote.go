package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// fetchedRef is where a shallow fetch of one revision puts it.
const fetchedRef = plumbing.ReferenceName("refs/heads/mmbuild")

// cloneRemote fetches one revision of the remote repository at url into a
// new repository at dest and returns the commit to check out: want when it
// is set, else ref (or HEAD) resolved.
func cloneRemote(ctx context.Context, dest, url string, want plumbing.Hash, ref string, auth *Auth, o *cloneOptions) (*git.Repository, plumbing.Hash, error) {
	f := &fetcher{url: url, auth: transportAuth(auth), opts: o}
	r, err := f.init(dest)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if !want.IsZero() {
		return f.commit(ctx, dest, r, want)
	}

	// Resolve the name against the advertised refs first: a name that is
	// neither a branch nor a tag is a clear error, not a failed fetch.
	refs, err := f.remote(r).ListContext(ctx, &git.ListOptions{Auth: f.auth, CABundle: o.caBundle})
	if err != nil {
		return nil, plumbing.ZeroHash, mapTransportError(err, f.auth != nil)
	}
	advertised := make(map[plumbing.ReferenceName]bool, len(refs))
	for _, r := range refs {
		advertised[r.Name()] = true
	}
	var name plumbing.ReferenceName
	for _, c := range refCandidates(ref) {
		if advertised[c] {
			name = c
			break
		}
	}
	if name == "" {
		rev, why := ref, "no branch or tag of that name"
		if ref == "" || ref == "HEAD" {
			rev, why = "HEAD", "the remote has no HEAD"
		} else if strings.HasPrefix(ref, "refs/") {
			why = "no such ref"
		}
		return nil, plumbing.ZeroHash, revisionNotFound(rev, StripCredentials(url), why)
	}
	local := localRefName(name)
	spec := config.RefSpec("+" + name.String() + ":" + local.String())
	if err := f.fetch(ctx, r, 1, spec); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	got, err := r.Reference(local, true)
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("reading fetched %s: %w", name, err)
	}
	h, err := peel(r, got.Hash())
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("%s: %w", name, err)
	}
	return r, h, nil
}

// localRefName is where a fetched remote ref is kept.
func localRefName(name plumbing.ReferenceName) plumbing.ReferenceName {
	switch {
	case name == plumbing.HEAD:
		return plumbing.NewRemoteHEADReferenceName("origin")
	case name.IsBranch():
		return plumbing.NewRemoteReferenceName("origin", name.Short())
	}
	return name // tags and other refs keep their name
}

// peel follows annotated tags from h to the commit they name.
func peel(r *git.Repository, h plumbing.Hash) (plumbing.Hash, error) {
	for range 10 {
		obj, err := r.Object(plumbing.AnyObject, h)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading object %s: %w", h, err)
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o.Hash, nil
		case *object.Tag:
			h = o.Target
		default:
			return plumbing.ZeroHash, fmt.Errorf("points to a %s, not a commit", obj.Type())
		}
	}
	return plumbing.ZeroHash, errors.New("too many nested tags")
}

// fetcher fetches from one remote.
type fetcher struct {
	url  string
	auth transport.AuthMethod
	opts *cloneOptions
}

// init creates an empty repository at dest with the remote as origin.
func (f *fetcher) init(dest string) (*git.Repository, error) {
	r, err := git.PlainInit(dest, false)
	if err != nil {
		return nil, fmt.Errorf("creating repository: %w", err)
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{f.url}}); err != nil {
		return nil, fmt.Errorf("adding remote: %w", err)
	}
	return r, nil
}

func (f *fetcher) remote(r *git.Repository) *git.Remote {
	rem, _ := r.Remote("origin") // created by init
	return rem
}

// fetch runs one fetch; depth 0 fetches the whole history.
func (f *fetcher) fetch(ctx context.Context, r *git.Repository, depth int, specs ...config.RefSpec) error {
	err := f.remote(r).FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   specs,
		Depth:      depth,
		Auth:       f.auth,
		Progress:   f.opts.progress,
		Tags:       git.NoTags,
		CABundle:   f.opts.caBundle,
	})
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return mapTransportError(err, f.auth != nil)
}

// commit fetches the commit want: by id and shallow when the server allows
// it, otherwise with every branch and tag in full.
func (f *fetcher) commit(ctx context.Context, dest string, r *git.Repository, want plumbing.Hash) (*git.Repository, plumbing.Hash, error) {
	err := f.fetch(ctx, r, 1, config.RefSpec(want.String()+":"+fetchedRef.String()))
	if err == nil {
		if _, err := r.CommitObject(want); err == nil {
			return r, want, nil
		}
	}
	if isFinal(ctx, err) {
		return nil, plumbing.ZeroHash, err
	}
	if err != nil && strings.Contains(err.Error(), "not our ref") {
		// The server hands out commits by id (else go-git would have
		// stopped with ErrExactSHA1NotSupported before asking) but not this
		// one: it does not have it, or not reachable from any of its refs,
		// so no branch or tag would bring it either.
		return nil, plumbing.ZeroHash, revisionNotFound(want.String(), StripCredentials(f.url), "the server does not have it")
	}

	// The server does not hand out commits by id (ErrExactSHA1NotSupported),
	// or failed in a way that does not say: start again with a full fetch of
	// every branch and tag.
	if err := emptyDir(dest); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if r, err = f.init(dest); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	err = f.fetch(ctx, r, 0,
		"+refs/heads/*:refs/remotes/origin/*",
		"+refs/tags/*:refs/tags/*")
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if _, err := r.CommitObject(want); err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, plumbing.ZeroHash, revisionNotFound(want.String(), StripCredentials(f.url),
				"not reachable from any branch or tag")
		}
		return nil, plumbing.ZeroHash, fmt.Errorf("reading commit %s: %w", want, err)
	}
	return r, want, nil
}

// isFinal tells whether a failed fetch by commit id is worth retrying with a
// full fetch: not when the server refused us or the clone was cancelled.
func isFinal(ctx context.Context, err error) bool {
	return ctx.Err() != nil ||
		errors.Is(err, ErrAuthenticationRequired) ||
		errors.Is(err, ErrAuthenticationFailed) ||
		errors.Is(err, transport.ErrRepositoryNotFound) ||
		errors.Is(err, transport.ErrEmptyRemoteRepository)
}

// emptyDir removes everything inside dir.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
