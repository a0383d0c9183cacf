package testservers

// Real git repositories and a real smart-HTTP git server for tests.
//
// A repository is made with the git command line (never go-git), so the code
// under test reads what git itself writes. ServeGitHTTP serves a folder of
// repositories with `git http-backend` behind net/http/cgi, the same program
// a production git server (Apache, nginx + fcgiwrap) runs.
//
// Typical use:
//
//	r := testservers.NewGitRepo(t, map[string]string{"main.go": "package main"})
//	first := r.Head()
//	r.Commit(map[string]string{"main.go": "package main // v2"})
//	r.Tag("v2")
//	srv := testservers.ServeGitHTTP(t, r.Root, testservers.WithGitBasicAuth("ci", "s3cret"))
//	url := srv.RepoURL(r.Dir) // http://127.0.0.1:PORT/repo

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitEpoch is the author and committer time of a GitRepo's first commit;
// each later commit is one minute later, so commit times are predictable.
var GitEpoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// GitRepo is a non-bare git repository in a test's temporary folder, on
// branch main. It allows fetching any commit by id
// (uploadpack.allowAnySHA1InWant and allowReachableSHA1InWant), as GitHub
// and GitLab do.
type GitRepo struct {
	t testing.TB
	// Root is the folder holding the repository: serve it with ServeGitHTTP.
	Root string
	// Dir is the repository's work tree (Root/repo).
	Dir string

	mu      sync.Mutex
	commits int
}

// NewGitRepo creates a repository under t.TempDir() and commits files
// (path → content; folders are created) as its first commit. It skips the
// test when the git command is not installed.
func NewGitRepo(t testing.TB, files map[string]string) *GitRepo {
	t.Helper()
	return NewGitRepoAt(t, t.TempDir(), "repo", files)
}

// NewGitRepoAt is NewGitRepo for a repository named name inside root, so
// one server can serve several repositories.
func NewGitRepoAt(t testing.TB, root, name string, files map[string]string) *GitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	r := &GitRepo{t: t, Root: root, Dir: filepath.Join(root, name)}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.Git("init", "--quiet", "--initial-branch=main")
	r.Git("config", "uploadpack.allowAnySHA1InWant", "true")
	r.Git("config", "uploadpack.allowReachableSHA1InWant", "true")
	r.Commit(files)
	return r
}

// Git runs git with args in the work tree and returns its trimmed standard
// output; it fails the test on a non-zero exit. The environment ignores the
// user's and the system's git configuration.
func (r *GitRepo) Git(args ...string) string {
	r.t.Helper()
	return runGit(r.t, r.Dir, r.env(), args...)
}

// Commit writes files (path → content), commits every change in the work
// tree (additions, modifications, deletions) and returns the new commit id.
// Each commit is one minute after the previous one, starting at GitEpoch.
func (r *GitRepo) Commit(files map[string]string) string {
	r.t.Helper()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(r.Dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.mu.Lock()
	n := r.commits
	r.commits++
	r.mu.Unlock()
	when := r.CommitTime(n).Format(time.RFC3339)
	r.Git("add", "--all")
	runGit(r.t, r.Dir, append(r.env(), "GIT_AUTHOR_DATE="+when, "GIT_COMMITTER_DATE="+when),
		"commit", "--quiet", "--allow-empty", "-m", fmt.Sprintf("commit %d", n+1))
	r.Git("update-server-info") // for dumb-HTTP clients; smart HTTP does not need it
	return r.Head()
}

// CommitTime is the author and committer time of the repository's n-th
// commit made through Commit, counting from 0.
func (r *GitRepo) CommitTime(n int) time.Time {
	return GitEpoch.Add(time.Duration(n) * time.Minute)
}

// Head returns the commit id HEAD points to.
func (r *GitRepo) Head() string {
	r.t.Helper()
	return r.Git("rev-parse", "HEAD")
}

// Tag creates the annotated tag name at HEAD.
func (r *GitRepo) Tag(name string) {
	r.t.Helper()
	r.Git("tag", "--annotate", "--message", "tag "+name, name)
}

// Branch creates the branch name at HEAD and switches to it, so the next
// commits go there.
func (r *GitRepo) Branch(name string) {
	r.t.Helper()
	r.Git("switch", "--quiet", "--create", name)
}

// Checkout switches the work tree to an existing branch.
func (r *GitRepo) Checkout(branch string) {
	r.t.Helper()
	r.Git("switch", "--quiet", branch)
}

// WriteFile writes data to rel (a "/"-separated path in the work tree,
// parents created) with exactly mode, whatever the umask, without
// committing: git records the executable bit. Commit(nil) commits it.
func (r *GitRepo) WriteFile(rel string, data []byte, mode os.FileMode) {
	r.t.Helper()
	full := filepath.Join(r.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, data, mode); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		r.t.Fatal(err)
	}
}

// Symlink creates the symbolic link rel -> target in the work tree (parents
// created) without committing. Commit(nil) commits it.
func (r *GitRepo) Symlink(target, rel string) {
	r.t.Helper()
	full := filepath.Join(r.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		r.t.Fatal(err)
	}
}

// CopyIn copies src, a file or a folder, to rel in the work tree without
// committing: regular files with their executable bit, symbolic links as
// links, folders recursively. Commit(nil) commits it.
func (r *GitRepo) CopyIn(rel, src string) {
	r.t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		sub, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		dest := path.Join(rel, filepath.ToSlash(sub))
		switch {
		case d.IsDir():
			return nil
		case d.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			r.Symlink(target, dest)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			r.WriteFile(dest, data, info.Mode().Perm())
		default:
			return fmt.Errorf("%s: git holds no %v", p, d.Type())
		}
		return nil
	})
	if err != nil {
		r.t.Fatalf("copying %s into the repository: %v", src, err)
	}
}

// URL is the repository's file:// URL.
func (r *GitRepo) URL() string {
	return "file://" + filepath.ToSlash(r.Dir)
}

func (r *GitRepo) env() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=mmbuild test", "GIT_AUTHOR_EMAIL=test@mmbuild.invalid",
		"GIT_COMMITTER_NAME=mmbuild test", "GIT_COMMITTER_EMAIL=test@mmbuild.invalid",
		"GIT_TERMINAL_PROMPT=0",
		"LANG=C", "LC_ALL=C",
	)
}

func runGit(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// GitServer is a smart-HTTP git server on 127.0.0.1 serving every
// repository below its root.
type GitServer struct {
	// URL is the base URL, without a trailing slash: the repository at
	// ROOT/a/b is served at URL + "/a/b".
	URL  string
	root string
	t    testing.TB

	mu       sync.Mutex
	requests []string
	stderr   backendStderr
}

// backendStderr collects the backend's standard error from concurrent requests.
type backendStderr struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *backendStderr) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *backendStderr) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// GitServerOption configures ServeGitHTTP.
type GitServerOption func(*gitServerOptions)

type gitServerOptions struct {
	user, token string
	receivePack bool
}

// WithGitBasicAuth requires HTTP basic authentication with exactly this user
// and token (password) on every request; any other request gets 401 with a
// WWW-Authenticate challenge. Authenticated requests may also push (git
// http-backend allows receive-pack when REMOTE_USER is set). Default: no
// authentication.
func WithGitBasicAuth(user, token string) GitServerOption {
	return func(o *gitServerOptions) { o.user, o.token = user, token }
}

// WithGitReceivePack allows anonymous pushes (http.receivepack=true). Default:
// only authenticated requests may push, and without WithGitBasicAuth nobody can.
func WithGitReceivePack() GitServerOption {
	return func(o *gitServerOptions) { o.receivePack = true }
}

// ServeGitHTTP serves every git repository below root over the smart HTTP
// protocol (`git http-backend` run through net/http/cgi, with
// GIT_PROJECT_ROOT=root and GIT_HTTP_EXPORT_ALL=1) on 127.0.0.1. The server
// is shut down when the test ends. It skips the test under -short and when
// git or git-http-backend is missing.
func ServeGitHTTP(t testing.TB, root string, opts ...GitServerOption) *GitServer {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a git HTTP server: skipped with -short")
	}
	var o gitServerOptions
	for _, opt := range opts {
		opt(&o)
	}
	backend := gitHTTPBackend(t)
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"GIT_PROJECT_ROOT=" + abs,
		"GIT_HTTP_EXPORT_ALL=1",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"HOME=" + abs,
	}
	if o.receivePack {
		env = append(env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true")
	}
	s := &GitServer{root: abs, t: t}
	t.Cleanup(func() {
		if msg := s.stderr.String(); msg != "" {
			t.Logf("git http-backend stderr:\n%s", msg)
		}
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, req.Method+" "+req.URL.RequestURI())
		s.mu.Unlock()
		reqEnv := env
		if o.user != "" || o.token != "" {
			user, pass, ok := req.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(o.user)) != 1 ||
				subtle.ConstantTimeCompare([]byte(pass), []byte(o.token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="mmbuild test git server"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
			reqEnv = append(append([]string(nil), env...), "REMOTE_USER="+user)
		}
		cgiHandler := &cgi.Handler{Path: backend, Root: "/", Env: reqEnv, Stderr: &s.stderr}
		cgiHandler.ServeHTTP(w, req)
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// RepoURL returns the URL of the repository at dir, which must be below the
// server's root.
func (s *GitServer) RepoURL(dir string) string {
	s.t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		s.t.Fatal(err)
	}
	rel, err := filepath.Rel(s.root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		s.t.Fatalf("testservers: %s is not below the git server's root %s", dir, s.root)
	}
	return s.URL + "/" + filepath.ToSlash(rel)
}

// Requests returns "METHOD /path?query" for every request received so far,
// in order, including refused ones.
func (s *GitServer) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func gitHTTPBackend(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skipf("git-http-backend is not installed: %v", err)
	}
	return backend
}
