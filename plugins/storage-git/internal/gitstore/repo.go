package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// DefaultUser is the basic-auth user sent with a token when the option user
// is not set; GitHub, GitLab and Gitea accept any user with a token.
const DefaultUser = "x-access-token"

// largeObject is the size above which a blob is streamed from disk
// instead of being read into memory whole.
const largeObject = 1 << 20

// newStorage is the object storage of the repository in fsys, streaming
// large blobs.
func newStorage(fsys billy.Filesystem) *filesystem.Storage {
	return filesystem.NewStorageWithOptions(fsys, cache.NewObjectLRUDefault(), filesystem.Options{LargeObjectThreshold: largeObject})
}

// snapshot is one commit of an opened repository.
type snapshot struct {
	repo   *git.Repository
	commit *object.Commit
	tmp    string // the temporary repository of a remote fetch, removed by close
}

// close releases the repository and removes a temporary one.
func (s *snapshot) close() {
	if c, ok := s.repo.Storer.(io.Closer); ok {
		_ = c.Close()
	}
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
}

// open finds the commit l names: in place for a local repository, by a
// shallow fetch into a temporary repository for a remote one.
func open(ctx context.Context, l *location, o *options) (*snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.local != "" {
		return openLocal(l)
	}
	return fetchRemote(ctx, l, o)
}

// openLocal opens the repository at l.local (bare or not) in place and
// resolves the revision there. Nothing is copied and git does not run.
func openLocal(l *location) (*snapshot, error) {
	if fi, err := os.Stat(l.local); errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || err == nil && !fi.IsDir() {
		return nil, because([]error{fs.ErrNotExist}, "repository not found: no git repository at %s", l.local)
	}
	// PlainOpen finds the git folder (a bare repository, .git, a linked
	// work tree); its storage is then reopened to stream large blobs.
	plain, err := git.PlainOpenWithOptions(l.local, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, because([]error{fs.ErrNotExist, err}, "repository not found: no git repository at %s", l.local)
	}
	if err != nil {
		return nil, fmt.Errorf("opening repository %s: %w", l.local, err)
	}
	r := plain
	if st, ok := plain.Storer.(*filesystem.Storage); ok {
		if r, err = git.Open(newStorage(st.Filesystem()), nil); err != nil {
			return nil, fmt.Errorf("opening repository %s: %w", l.local, err)
		}
	}
	s := &snapshot{repo: r}
	if s.commit, err = resolveLocal(r, l); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// resolveLocal finds the commit l names in an opened repository.
func resolveLocal(r *git.Repository, l *location) (*object.Commit, error) {
	if !l.commit.IsZero() {
		c, err := r.CommitObject(l.commit)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, revisionNotFound(l, "no such commit")
		}
		if err != nil {
			return nil, fmt.Errorf("reading commit %s in %s: %w", l.commit, l.repo(), err)
		}
		return c, nil
	}
	for _, name := range refCandidates(l.ref) {
		got, err := r.Reference(name, true)
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s in %s: %w", name, l.repo(), err)
		}
		h, err := peel(r, got.Hash())
		if err != nil {
			return nil, fmt.Errorf("%s in %s: %w", name, l.repo(), err)
		}
		return r.CommitObject(h)
	}
	if l.ref == "" {
		return nil, revisionNotFound(l, "the repository has no commit on its default branch")
	}
	return nil, revisionNotFound(l, whyRefMissing(l.ref))
}

// refCandidates are the full names a ref given by the user may stand for,
// in the order they are tried: a branch first, then a tag.
func refCandidates(ref string) []plumbing.ReferenceName {
	switch {
	case ref == "":
		return []plumbing.ReferenceName{plumbing.HEAD}
	case strings.HasPrefix(ref, "refs/"):
		return []plumbing.ReferenceName{plumbing.ReferenceName(ref)}
	}
	return []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)}
}

func whyRefMissing(ref string) string {
	if strings.HasPrefix(ref, "refs/") {
		return "no such ref"
	}
	return "no branch or tag of that name"
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

// revisionNotFound is fs.ErrNotExist with what was looked for where.
func revisionNotFound(l *location, why string) error {
	return because([]error{fs.ErrNotExist}, "revision %s not found in %s (%s)", l.rev(), l.repo(), why)
}

// fetchedRef is where a fetch by commit id puts the commit.
const fetchedRef = plumbing.ReferenceName("refs/heads/mmbuild")

// fetcher fetches one revision of a remote repository into a temporary
// bare repository.
type fetcher struct {
	l    *location
	auth transport.AuthMethod
	dir  string
	repo *git.Repository
}

// fetchRemote fetches the commit l names, shallow where the server allows
// it, into a new temporary repository.
func fetchRemote(ctx context.Context, l *location, o *options) (s *snapshot, err error) {
	f := &fetcher{l: l, auth: o.authMethod()}
	if f.auth != nil {
		warnCleartext(l)
	}
	if f.dir, err = os.MkdirTemp("", "mmbuild-plugin-git-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(f.dir)
		}
	}()
	if err := f.init(); err != nil {
		return nil, err
	}
	var h plumbing.Hash
	if !l.commit.IsZero() {
		h, err = f.commit(ctx)
	} else {
		h, err = f.ref(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	c, err := f.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading fetched commit %s: %w", h, err)
	}
	return &snapshot{repo: f.repo, commit: c, tmp: f.dir}, nil
}

// warnCleartext logs that a token is about to travel unencrypted, unless
// the server is on this host.
func warnCleartext(l *location) {
	u, err := url.Parse(l.remote)
	if err != nil || u.Scheme != "http" {
		return
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
		return
	}
	plugin.Logger().Warn("sending a token over plain http: use git+https", "repo", l.remote)
}

// init (re)creates an empty bare repository with the remote as origin.
func (f *fetcher) init() error {
	if err := emptyDir(f.dir); err != nil {
		return err
	}
	r, err := git.Init(newStorage(osfs.New(f.dir)), nil)
	if err != nil {
		return fmt.Errorf("creating a temporary repository: %w", err)
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{f.l.remote}}); err != nil {
		return fmt.Errorf("adding remote: %w", err)
	}
	f.repo = r
	return nil
}

func (f *fetcher) remote() *git.Remote {
	rem, _ := f.repo.Remote("origin") // created by init
	return rem
}

// fetch runs one fetch; depth 0 fetches the whole history.
func (f *fetcher) fetch(ctx context.Context, depth int, specs ...config.RefSpec) error {
	err := f.remote().FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   specs,
		Depth:      depth,
		Auth:       f.auth,
		Tags:       git.NoTags,
	})
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return f.transportError(err)
}

// ref resolves l.ref (or HEAD) against the advertised refs, then fetches it
// with depth 1: a name that is neither a branch nor a tag is a clear error,
// not a failed fetch.
func (f *fetcher) ref(ctx context.Context) (plumbing.Hash, error) {
	refs, err := f.remote().ListContext(ctx, &git.ListOptions{Auth: f.auth})
	if err != nil {
		if ctx.Err() != nil {
			return plumbing.ZeroHash, ctx.Err()
		}
		return plumbing.ZeroHash, f.transportError(err)
	}
	advertised := make(map[plumbing.ReferenceName]bool, len(refs))
	for _, r := range refs {
		advertised[r.Name()] = true
	}
	var name plumbing.ReferenceName
	for _, c := range refCandidates(f.l.ref) {
		if advertised[c] {
			name = c
			break
		}
	}
	if name == "" {
		if f.l.ref == "" {
			return plumbing.ZeroHash, revisionNotFound(f.l, "the remote advertises no HEAD")
		}
		return plumbing.ZeroHash, revisionNotFound(f.l, whyRefMissing(f.l.ref))
	}
	local := name
	switch {
	case name == plumbing.HEAD:
		local = plumbing.NewRemoteHEADReferenceName("origin")
	case name.IsBranch():
		local = plumbing.NewRemoteReferenceName("origin", name.Short())
	}
	if err := f.fetch(ctx, 1, config.RefSpec("+"+name.String()+":"+local.String())); err != nil {
		return plumbing.ZeroHash, err
	}
	got, err := f.repo.Reference(local, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading fetched %s: %w", name, err)
	}
	h, err := peel(f.repo, got.Hash())
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%s: %w", name, err)
	}
	return h, nil
}

// commit fetches l.commit: by id and shallow when the server allows it,
// otherwise with every branch and tag in full.
func (f *fetcher) commit(ctx context.Context) (plumbing.Hash, error) {
	want := f.l.commit
	err := f.fetch(ctx, 1, config.RefSpec(want.String()+":"+fetchedRef.String()))
	if err == nil {
		if _, err := f.repo.CommitObject(want); err == nil {
			return want, nil
		}
	}
	if ctx.Err() != nil || errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
		return plumbing.ZeroHash, err
	}
	if err != nil && strings.Contains(err.Error(), "not our ref") {
		// The server hands out commits by id (else go-git would have
		// stopped with ErrExactSHA1NotSupported before asking) but not this
		// one: it does not have it, or not reachable from any of its refs,
		// so no branch or tag would bring it either.
		return plumbing.ZeroHash, revisionNotFound(f.l, "the server does not have it")
	}

	// The server does not hand out commits by id (ErrExactSHA1NotSupported),
	// or failed in a way that does not say: start again with a full fetch of
	// every branch and tag.
	plugin.Logger().Debug("fetching every branch and tag: the server does not hand out this commit by id",
		"repo", f.l.remote, "commit", want.String(), "reason", err)
	if err := f.init(); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := f.fetch(ctx, 0, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := f.repo.CommitObject(want); err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return plumbing.ZeroHash, revisionNotFound(f.l, "not reachable from any branch or tag")
		}
		return plumbing.ZeroHash, fmt.Errorf("reading commit %s: %w", want, err)
	}
	return want, nil
}

// transportError maps go-git's transport errors to the storage contract.
func (f *fetcher) transportError(err error) error {
	repo := f.l.remote
	authErr := errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)
	switch {
	case authErr && f.auth != nil:
		return because([]error{fs.ErrPermission, err},
			"%s: authentication failed: the server refused the token given (wrong token, or no access to this repository)", repo)
	case authErr:
		return because([]error{fs.ErrPermission, err},
			"%s: authentication required: the server asks for credentials; pass a token in the options, from a secret", repo)
	case errors.Is(err, transport.ErrRepositoryNotFound) && f.auth == nil:
		// GitHub answers 404, not 401, for a private repository.
		return because([]error{fs.ErrNotExist, err}, "%s: repository not found (if it is private, pass a token in the options)", repo)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return because([]error{fs.ErrNotExist, err}, "%s: repository not found (or the token has no access to it)", repo)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return because([]error{fs.ErrNotExist, err}, "%s: the repository is empty", repo)
	}
	return fmt.Errorf("fetching from %s: %w", repo, err)
}

// authMethod is the token as go-git wants it for http(s), or nil.
func (o *options) authMethod() transport.AuthMethod {
	if o.token == "" {
		return nil
	}
	user := o.user
	if user == "" {
		user = DefaultUser
	}
	return &githttp.BasicAuth{Username: user, Password: o.token}
}

// emptyDir removes everything inside dir.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(dir + string(os.PathSeparator) + e.Name()); err != nil {
			return err
		}
	}
	return nil
}
