package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// Errors a clone can fail with; test for them with errors.Is. The message of
// the error returned by Clone says more.
var (
	// ErrCredentialsInURL: the repository URL holds a user or password.
	ErrCredentialsInURL = errors.New("credentials in the repository URL")
	// ErrUnsupportedURL: not https://, http://, file:// or an absolute path.
	ErrUnsupportedURL = errors.New("unsupported repository URL")
	// ErrRevisionNotFound: the commit or ref does not exist in the repository.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrAuthenticationRequired: the server wants credentials and none were given.
	ErrAuthenticationRequired = errors.New("authentication required")
	// ErrAuthenticationFailed: the server refused the credentials given.
	ErrAuthenticationFailed = errors.New("authentication failed")
	// ErrUnsafeTree: the checked-out tree holds a symbolic link that resolves
	// outside the work tree.
	ErrUnsafeTree = errors.New("unsafe work tree")
)

// DefaultTokenUser is the basic-auth user sent with a token when Auth.User
// is empty; GitHub, GitLab and Gitea accept any user with a token.
const DefaultTokenUser = "x-access-token"

// Auth is how to authenticate to the remote: nil for none. A token is sent
// as HTTP basic auth (user DefaultTokenUser unless User is set) over
// http(s); it is ignored for local repositories.
type Auth struct {
	User, Token string
}

// CloneOption configures Clone.
type CloneOption func(*cloneOptions) error

type cloneOptions struct {
	progress io.Writer
	caBundle []byte
}

// WithProgress writes the server's progress messages to w. Default: none.
func WithProgress(w io.Writer) CloneOption {
	return func(o *cloneOptions) error {
		o.progress = w
		return nil
	}
}

// WithCABundle trusts the PEM certificates in pem, in addition to the
// system's roots, for https. Default: the system's roots only.
func WithCABundle(pem []byte) CloneOption {
	return func(o *cloneOptions) error {
		if len(pem) == 0 {
			return errors.New("empty CA bundle")
		}
		o.caBundle = pem
		return nil
	}
}

// CloneError is the error Clone returns: which repository, at which
// revision, and why. Its message never holds a credential.
type CloneError struct {
	Repo     string // without credentials
	Revision string // the commit, the ref, or "HEAD"
	Err      error
}

func (e *CloneError) Error() string {
	return fmt.Sprintf("cloning %s at %s: %v", e.Repo, e.Revision, e.Err)
}

func (e *CloneError) Unwrap() error { return e.Err }

// Clone clones repo into dest (which must not exist or be empty) and checks
// out exactly one commit: commit (full 40-hex id) or ref (tag, branch, or
// full ref name; resolved to its commit), or the remote's HEAD when both are
// empty. A bare name is looked up as a branch first, then as a tag, as `git
// clone --branch` does. It returns Info{Repo (credentials stripped), Commit
// (resolved full id), Dirty: false, Dir: dest, CommitTime}.
//
// Everything is done natively with go-git: no git program runs.
//   - https:// and http://: only the one commit is fetched (depth 1). An
//     exact commit is fetched by id, which servers allow when they advertise
//     allow-reachable-sha1-in-want or allow-tip-sha1-in-want (GitHub, GitLab,
//     git with uploadpack.allowAnySHA1InWant); otherwise every branch and tag
//     is fetched and the commit looked up among them.
//   - file:// URLs and absolute paths: the repository is read in place and
//     only the commit's own objects are copied into dest (the clone is
//     shallow too).
//
// Credentials inside the URL are refused: pass them as auth. After the
// checkout HEAD must be the commit asked for, and no symbolic link in the
// tree may resolve outside dest (ErrUnsafeTree). On error dest is left as
// it was found: removed if Clone created it, emptied otherwise. Cancelling
// ctx stops the clone.
func Clone(ctx context.Context, dest, repo, commit, ref string, auth *Auth, opts ...CloneOption) (info Info, err error) {
	shown := StripCredentials(repo)
	defer func() {
		if err != nil {
			err = cloneError(err, shown, revision(commit, ref), auth)
		}
	}()

	o, err := applyOptions(opts)
	if err != nil {
		return Info{}, err
	}
	want, local, err := checkRequest(repo, commit, ref)
	if err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}

	if dest, err = filepath.Abs(dest); err != nil {
		return Info{}, err
	}
	created, err := prepareDest(dest)
	if err != nil {
		return Info{}, err
	}
	defer func() {
		if err != nil {
			cleanDest(dest, created)
		}
	}()

	r, head, err := fetchCommit(ctx, dest, local, repo, want, ref, auth, &o)
	if err != nil {
		return Info{}, err
	}
	c, err := checkoutSafely(r, head, want, dest)
	if err != nil {
		return Info{}, err
	}
	return Info{
		Repo:       shown,
		Commit:     c.Hash.String(),
		Dir:        dest,
		CommitTime: c.Committer.When,
	}, nil
}

// revision is what a clone of commit or ref checks out, as its errors name
// it: the commit, else the ref, else "HEAD".
func revision(commit, ref string) string {
	switch {
	case commit != "":
		return commit
	case ref == "":
		return "HEAD"
	}
	return ref
}

// cloneError is the error Clone returns for err: the token of auth, if
// any, hidden from its message, and the repository (shown, without
// credentials) and revision named.
func cloneError(err error, shown, rev string, auth *Auth) error {
	if auth != nil && auth.Token != "" {
		err = &redactedError{err: err, secret: auth.Token}
	}
	return &CloneError{Repo: shown, Revision: rev, Err: err}
}

// applyOptions returns the options opts set over the defaults.
func applyOptions(opts []CloneOption) (cloneOptions, error) {
	var o cloneOptions
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return cloneOptions{}, err
		}
	}
	return o, nil
}

// checkRequest checks what Clone is asked for before anything is touched:
// at most one of commit and ref, each well formed, and a supported
// repository URL. It returns the commit's hash (zero when none is asked
// for) and the repository's local path ("" when it is remote).
func checkRequest(repo, commit, ref string) (want plumbing.Hash, local string, err error) {
	if commit != "" && ref != "" {
		return plumbing.ZeroHash, "", errors.New("both a commit and a ref are given; use one")
	}
	if commit != "" {
		if want, err = parseCommit(commit); err != nil {
			return plumbing.ZeroHash, "", err
		}
	}
	if ref != "" {
		if err := checkRefName(ref); err != nil {
			return plumbing.ZeroHash, "", err
		}
	}
	if local, err = parseRepo(repo); err != nil {
		return plumbing.ZeroHash, "", err
	}
	return want, local, nil
}

// fetchCommit brings the commit into the repository at dest, from the
// repository at local (read in place) or, when local is "", from the remote
// repo, and returns that repository and the commit to check out. When ctx
// is cancelled its error is returned, not the one the cancellation caused.
func fetchCommit(ctx context.Context, dest, local, repo string, want plumbing.Hash, ref string, auth *Auth, o *cloneOptions) (*git.Repository, plumbing.Hash, error) {
	var r *git.Repository
	var head plumbing.Hash
	var err error
	if local != "" {
		r, head, err = cloneLocal(ctx, dest, local, repo, want, ref)
	} else {
		r, head, err = cloneRemote(ctx, dest, repo, want, ref, auth, o)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, plumbing.ZeroHash, ctx.Err()
		}
		return nil, plumbing.ZeroHash, err
	}
	if err := ctx.Err(); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	return r, head, nil
}

// checkoutSafely checks out head and then makes sure of what was checked
// out: the commit asked for (want, unless zero), and a tree whose symbolic
// links stay inside dest.
func checkoutSafely(r *git.Repository, head, want plumbing.Hash, dest string) (*object.Commit, error) {
	c, err := checkout(r, head)
	if err != nil {
		return nil, err
	}
	if !want.IsZero() && c.Hash != want {
		return nil, fmt.Errorf("checked out %s instead of the requested commit", c.Hash)
	}
	if err := checkSymlinks(dest); err != nil {
		return nil, err
	}
	return c, nil
}

// checkout checks out commit h (detached HEAD) and verifies that HEAD is h.
func checkout(r *git.Repository, h plumbing.Hash) (*object.Commit, error) {
	c, err := r.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", h, err)
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, err
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: h, Force: true}); err != nil {
		return nil, fmt.Errorf("checking out %s: %w", h, err)
	}
	got, err := r.Head()
	if err != nil {
		return nil, fmt.Errorf("reading HEAD after checkout: %w", err)
	}
	if got.Hash() != h {
		return nil, fmt.Errorf("HEAD is %s after checking out %s", got.Hash(), h)
	}
	return c, nil
}

// parseCommit accepts a full SHA-1 commit id, in either case.
func parseCommit(s string) (plumbing.Hash, error) {
	s = strings.ToLower(s)
	if len(s) == 64 && isHex(s) {
		return plumbing.ZeroHash, fmt.Errorf("commit %s is a SHA-256 id: SHA-256 repositories are not supported", s)
	}
	if len(s) != 40 || !isHex(s) {
		return plumbing.ZeroHash, fmt.Errorf("invalid commit %q: want a full 40-digit hexadecimal commit id", s)
	}
	return plumbing.NewHash(s), nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// checkRefName refuses names git would refuse, and names that would change
// the meaning of a refspec.
func checkRefName(ref string) error {
	full := ref
	if !strings.HasPrefix(ref, "refs/") {
		full = "refs/heads/" + ref
	}
	if strings.ContainsAny(ref, ":*+^~?[\\ \t\n") || strings.HasPrefix(ref, "-") ||
		plumbing.ReferenceName(full).Validate() != nil {
		return fmt.Errorf("invalid ref %q", ref)
	}
	return nil
}

// refCandidates are the full names a ref given by the user may stand for,
// in the order they are tried.
func refCandidates(ref string) []plumbing.ReferenceName {
	switch {
	case ref == "" || ref == "HEAD":
		return []plumbing.ReferenceName{plumbing.HEAD}
	case strings.HasPrefix(ref, "refs/"):
		return []plumbing.ReferenceName{plumbing.ReferenceName(ref)}
	}
	return []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)}
}

// parseRepo checks the repository URL and returns the repository's local
// path when it is a file:// URL or an absolute path, "" when it is remote.
func parseRepo(repo string) (localPath string, err error) {
	if filepath.IsAbs(repo) {
		return filepath.Clean(repo), nil
	}
	u, err := url.Parse(repo)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("%w %q: want https://, http://, file:// or an absolute path", ErrUnsupportedURL, StripCredentials(repo))
	}
	if u.User != nil && (u.Scheme == "https" || u.Scheme == "http" || u.Scheme == "file") {
		return "", fmt.Errorf("%w: remove them and name a secret holding the token in source.credentialsSecret", ErrCredentialsInURL)
	}
	switch u.Scheme {
	case "https", "http":
		if u.Host == "" {
			return "", fmt.Errorf("%w %q: no host", ErrUnsupportedURL, repo)
		}
		return "", nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("%w %q: a file URL names a local path (file:///path)", ErrUnsupportedURL, repo)
		}
		if !filepath.IsAbs(u.Path) {
			return "", fmt.Errorf("%w %q: want an absolute path", ErrUnsupportedURL, repo)
		}
		return filepath.Clean(filepath.FromSlash(u.Path)), nil
	}
	return "", fmt.Errorf("%w %q: scheme %s is not supported (want https://, http://, file:// or an absolute path)", ErrUnsupportedURL, repo, u.Scheme)
}

// prepareDest makes sure dest is an empty folder, creating it if needed.
func prepareDest(dest string) (created bool, err error) {
	fi, err := os.Lstat(dest)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return false, fmt.Errorf("creating destination: %w", err)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking destination: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("destination %s exists and is not a folder", dest)
	}
	entries, err := os.ReadDir(dest)
	if err != nil {
		return false, fmt.Errorf("checking destination: %w", err)
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("destination %s is not empty", dest)
	}
	return false, nil
}

// cleanDest undoes a failed clone: removes dest if the clone created it,
// empties it otherwise.
func cleanDest(dest string, created bool) {
	if created {
		_ = os.RemoveAll(dest)
		return
	}
	_ = emptyDir(dest)
}

// transportAuth is auth as go-git wants it for http(s).
func transportAuth(auth *Auth) transport.AuthMethod {
	if auth == nil || auth.Token == "" && auth.User == "" {
		return nil
	}
	user := auth.User
	if user == "" {
		user = DefaultTokenUser
	}
	return &githttp.BasicAuth{Username: user, Password: auth.Token}
}

// mapTransportError turns go-git's transport errors into ours.
func mapTransportError(err error, withAuth bool) error {
	authErr := errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)
	switch {
	case authErr && withAuth:
		return &causeError{
			msg:  "authentication failed: the server refused the credentials from source.credentialsSecret (wrong token, or no access to this repository)",
			errs: []error{ErrAuthenticationFailed, err},
		}
	case authErr:
		return &causeError{
			msg:  "authentication required: the server asks for credentials; name a secret holding a token in source.credentialsSecret",
			errs: []error{ErrAuthenticationRequired, err},
		}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &causeError{msg: "repository not found", errs: []error{err}}
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return &causeError{msg: "the repository is empty", errs: []error{err}}
	}
	return err
}

// revisionNotFound is ErrRevisionNotFound with what was looked for where.
func revisionNotFound(rev, repo, why string) error {
	msg := fmt.Sprintf("revision %s not found in %s", rev, repo)
	if why != "" {
		msg += " (" + why + ")"
	}
	return &causeError{msg: msg, errs: []error{ErrRevisionNotFound}}
}

// causeError is an error with its own message that still matches the
// errors it stands for.
type causeError struct {
	msg  string
	errs []error
}

func (e *causeError) Error() string   { return e.msg }
func (e *causeError) Unwrap() []error { return e.errs }

// redactedError hides a secret in an error's message.
type redactedError struct {
	err    error
	secret string
}

func (e *redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.secret, "***")
}

func (e *redactedError) Unwrap() error { return e.err }
