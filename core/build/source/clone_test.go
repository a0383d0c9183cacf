package source_test

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/source"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// history is a repository with branches and tags:
//
//	c1 (tag v1, annotated) - c2 - c4 (main, HEAD)
//	                           \
//	                            c3 (feature, tag light)
type history struct {
	repo           *testservers.GitRepo
	c1, c2, c3, c4 string
	trees          map[string]map[string]string // commit → files
}

func newHistory(t *testing.T) *history {
	t.Helper()
	h := &history{trees: map[string]map[string]string{}}
	files := map[string]string{"a.txt": "one\n", "dir/b.txt": "b1\n", "old.txt": "old\n"}
	h.repo = testservers.NewGitRepo(t, files)
	h.c1 = h.repo.Head()
	h.trees[h.c1] = maps.Clone(files)
	h.repo.Tag("v1")

	if err := os.Remove(filepath.Join(h.repo.Dir, "old.txt")); err != nil {
		t.Fatal(err)
	}
	delete(files, "old.txt")
	files["a.txt"] = "two\n"
	h.c2 = h.repo.Commit(map[string]string{"a.txt": "two\n"})
	h.trees[h.c2] = maps.Clone(files)

	h.repo.Branch("feature")
	h.c3 = h.repo.Commit(map[string]string{"feature.txt": "f\n"})
	h.trees[h.c3] = maps.Clone(files)
	h.trees[h.c3]["feature.txt"] = "f\n"
	h.repo.Git("tag", "light") // lightweight

	h.repo.Checkout("main")
	files["a.txt"] = "four\n"
	files["dir/b.txt"] = "b4\n"
	h.c4 = h.repo.Commit(map[string]string{"a.txt": "four\n", "dir/b.txt": "b4\n"})
	h.trees[h.c4] = maps.Clone(files)
	return h
}

// commitIndex is the order in which newHistory made each commit, for
// GitRepo.CommitTime.
func (h *history) commitIndex(c string) int {
	return map[string]int{h.c1: 0, h.c2: 1, h.c3: 2, h.c4: 3}[c]
}

// transport is one way of reaching a test repository.
type transport struct {
	name string
	url  func(t *testing.T, r *testservers.GitRepo) string
}

var transports = []transport{
	{"file", func(t *testing.T, r *testservers.GitRepo) string { return r.URL() }},
	{"path", func(t *testing.T, r *testservers.GitRepo) string { return r.Dir }},
	{"http", func(t *testing.T, r *testservers.GitRepo) string {
		return testservers.ServeGitHTTP(t, r.Root).RepoURL(r.Dir)
	}},
}

func TestCloneRevisions(t *testing.T) {
	h := newHistory(t)
	tests := []struct {
		name        string
		commit, ref string
		want        string
	}{
		{"older commit", h.c2, "", h.c2},
		{"first commit", h.c1, "", h.c1},
		{"commit on a branch", h.c3, "", h.c3},
		{"commit upper case", strings.ToUpper(h.c2), "", h.c2},
		{"annotated tag", "", "v1", h.c1},
		{"annotated tag full name", "", "refs/tags/v1", h.c1},
		{"lightweight tag", "", "light", h.c3},
		{"branch", "", "feature", h.c3},
		{"branch full name", "", "refs/heads/feature", h.c3},
		{"default branch", "", "main", h.c4},
		{"HEAD", "", "HEAD", h.c4},
		{"remote HEAD", "", "", h.c4},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			url := tr.url(t, h.repo)
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					dest := filepath.Join(t.TempDir(), "src")
					info, err := source.Clone(context.Background(), dest, url, tc.commit, tc.ref, nil)
					if err != nil {
						t.Fatal(err)
					}
					want := source.Info{Repo: url, Commit: tc.want, Dir: dest, CommitTime: h.repo.CommitTime(h.commitIndex(tc.want))}
					if !info.CommitTime.Equal(want.CommitTime) {
						t.Errorf("CommitTime = %v, want %v", info.CommitTime, want.CommitTime)
					}
					info.CommitTime = want.CommitTime
					if info != want {
						t.Errorf("Info = %+v\nwant %+v", info, want)
					}
					assertTree(t, dest, h.trees[tc.want])
					if tc.want != h.c1 { // c1 has no parent: nothing to cut
						if _, err := os.Stat(filepath.Join(dest, ".git", "shallow")); err != nil {
							t.Errorf("clone is not shallow: %v", err)
						}
					}

					// The clone is a git work tree in its own right.
					wt, err := source.WorkTree(dest)
					if err != nil {
						t.Fatal(err)
					}
					if wt.Commit != tc.want || wt.Dirty || wt.Repo != url || !wt.CommitTime.Equal(want.CommitTime) {
						t.Errorf("WorkTree(clone) = %+v", wt)
					}
				})
			}
		})
	}
}

func TestCloneNotFound(t *testing.T) {
	h := newHistory(t)
	const missing = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name, commit, ref, msg string
	}{
		{"unknown commit", missing, "", "revision " + missing + " not found in "},
		{"unknown ref", "", "nope", "revision nope not found in "},
		{"unknown full ref", "", "refs/heads/nope", "revision refs/heads/nope not found in "},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			url := tr.url(t, h.repo)
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					dest := filepath.Join(t.TempDir(), "src")
					_, err := source.Clone(context.Background(), dest, url, tc.commit, tc.ref, nil)
					if !errors.Is(err, source.ErrRevisionNotFound) {
						t.Fatalf("err = %v, want ErrRevisionNotFound", err)
					}
					rev := tc.commit + tc.ref
					wantPrefix := "cloning " + url + " at " + rev + ": " + tc.msg + url
					if !strings.HasPrefix(err.Error(), wantPrefix) || strings.Contains(err.Error(), "\n") {
						t.Errorf("err = %q\nwant prefix %q", err, wantPrefix)
					}
					assertAbsent(t, dest)
				})
			}
		})
	}
}

// A server that does not hand out commits by id still gets the commit
// cloned, through a full fetch.
func TestCloneCommitFallback(t *testing.T) {
	skipShort(t)
	h := newHistory(t)
	h.repo.Git("config", "uploadpack.allowAnySHA1InWant", "false")
	h.repo.Git("config", "uploadpack.allowReachableSHA1InWant", "false")
	srv := testservers.ServeGitHTTP(t, h.repo.Root)
	url := srv.RepoURL(h.repo.Dir)

	dest := filepath.Join(t.TempDir(), "src")
	info, err := source.Clone(context.Background(), dest, url, h.c2, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Commit != h.c2 {
		t.Errorf("Commit = %s, want %s", info.Commit, h.c2)
	}
	assertTree(t, dest, h.trees[h.c2])
	if _, err := os.Stat(filepath.Join(dest, ".git", "shallow")); err == nil {
		t.Error("a full fetch left a shallow clone")
	}

	// A ref is still fetched shallow: it does not depend on fetching by id.
	dest = filepath.Join(t.TempDir(), "src")
	if _, err := source.Clone(context.Background(), dest, url, "", "feature", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, ".git", "shallow")); err != nil {
		t.Errorf("clone of a branch is not shallow: %v", err)
	}

	const missing = "0123456789abcdef0123456789abcdef01234567"
	dest = filepath.Join(t.TempDir(), "src")
	_, err = source.Clone(context.Background(), dest, url, missing, "", nil)
	if !errors.Is(err, source.ErrRevisionNotFound) || !strings.Contains(err.Error(), "not reachable from any branch or tag") {
		t.Errorf("err = %v, want ErrRevisionNotFound", err)
	}
}

func TestCloneAuth(t *testing.T) {
	skipShort(t)
	const token = "tok-3f9a-right"
	const wrong = "tok-77b1-wrong"
	h := newHistory(t)
	srv := testservers.ServeGitHTTP(t, h.repo.Root, testservers.WithGitBasicAuth(source.DefaultTokenUser, token))
	url := srv.RepoURL(h.repo.Dir)

	tests := []struct {
		name    string
		auth    *source.Auth
		wantErr error
		msg     string
	}{
		{"no auth", nil, source.ErrAuthenticationRequired, "authentication required: "},
		{"wrong token", &source.Auth{Token: wrong}, source.ErrAuthenticationFailed, "authentication failed: "},
		{"wrong user", &source.Auth{User: "someone", Token: token}, source.ErrAuthenticationFailed, "authentication failed: "},
		{"right token", &source.Auth{Token: token}, nil, ""},
		{"right user and token", &source.Auth{User: source.DefaultTokenUser, Token: token}, nil, ""},
	}
	revs := []struct{ name, commit, ref string }{
		{"commit", h.c2, ""},
		{"ref", "", "feature"},
		{"HEAD", "", ""},
	}
	for _, rev := range revs {
		t.Run(rev.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					dest := filepath.Join(t.TempDir(), "src")
					info, err := source.Clone(context.Background(), dest, url, rev.commit, rev.ref, tc.auth)
					if tc.wantErr == nil {
						if err != nil {
							t.Fatal(err)
						}
						if info.Commit == "" {
							t.Error("no commit recorded")
						}
						return
					}
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
					msg := err.Error()
					if !strings.Contains(msg, ": "+tc.msg) || !strings.Contains(msg, "source.credentialsSecret") || strings.Contains(msg, "\n") {
						t.Errorf("err = %q, want one line with %q and a hint", msg, tc.msg)
					}
					if strings.Contains(msg, token) || strings.Contains(msg, wrong) {
						t.Errorf("err shows a token: %q", msg)
					}
					assertAbsent(t, dest)
				})
			}
		})
	}
}

func TestCloneRefusesCredentialsInURL(t *testing.T) {
	for _, url := range []string{
		"https://user:hunter2@git.example.com/org/app.git",
		"https://hunter2@git.example.com/org/app.git",
		"http://x-access-token:hunter2@127.0.0.1:1/app.git",
	} {
		dest := filepath.Join(t.TempDir(), "src")
		_, err := source.Clone(context.Background(), dest, url, "", "main", &source.Auth{Token: "other"})
		if !errors.Is(err, source.ErrCredentialsInURL) {
			t.Fatalf("%s: err = %v, want ErrCredentialsInURL", url, err)
		}
		if msg := err.Error(); strings.Contains(msg, "hunter2") || !strings.Contains(msg, "source.credentialsSecret") {
			t.Errorf("err = %q: want the hint, never the password", msg)
		}
		assertAbsent(t, dest)
	}
}

func TestCloneBadInput(t *testing.T) {
	r := testservers.NewGitRepo(t, map[string]string{"a": "a"})
	head := r.Head()
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dest, repo, commit, ref string
		wantErr                       error
		msg                           string
	}{
		{"ssh", "", "ssh://git@git.example.com/org/app.git", "", "", source.ErrUnsupportedURL, "scheme ssh is not supported"},
		{"scp-like", "", "git@github.com:org/app.git", "", "", source.ErrUnsupportedURL, "want https://"},
		{"relative path", "", "relative/repo", "", "", source.ErrUnsupportedURL, "want https://"},
		{"file URL with host", "", "file://server/repo", "", "", source.ErrUnsupportedURL, "local path"},
		{"no repository", "", t.TempDir(), "", "", nil, "repository not found"},
		{"short commit", "", r.URL(), head[:12], "", nil, "want a full 40-digit"},
		{"sha256 commit", "", r.URL(), strings.Repeat("ab", 32), "", nil, "SHA-256"},
		{"commit and ref", "", r.URL(), head, "main", nil, "use one"},
		{"bad ref", "", r.URL(), "", "a:b", nil, `invalid ref "a:b"`},
		{"wildcard ref", "", r.URL(), "", "refs/heads/*", nil, "invalid ref"},
		{"dest not empty", nonEmpty, r.URL(), "", "", nil, "is not empty"},
		{"dest is a file", aFile, r.URL(), "", "", nil, "is not a folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dest := tc.dest
			if dest == "" {
				dest = filepath.Join(t.TempDir(), "src")
			}
			_, err := source.Clone(context.Background(), dest, tc.repo, tc.commit, tc.ref, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			var ce *source.CloneError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one CloneError line with %q", err, tc.msg)
			}
			if tc.dest == "" {
				assertAbsent(t, dest)
			}
		})
	}
	// The non-empty destination is left alone.
	if _, err := os.Stat(filepath.Join(nonEmpty, "x")); err != nil {
		t.Error(err)
	}
}

func TestCloneCancelled(t *testing.T) {
	h := newHistory(t)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			url := tr.url(t, h.repo)
			for _, rev := range []struct{ commit, ref string }{{h.c2, ""}, {"", "feature"}} {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				dest := t.TempDir() // exists and is empty: must be left so
				_, err := source.Clone(ctx, dest, url, rev.commit, rev.ref, nil)
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", err)
				}
				entries, _ := os.ReadDir(dest)
				if len(entries) != 0 {
					t.Errorf("cancelled clone left %d entries in dest", len(entries))
				}
			}
		})
	}
}

// An existing empty folder is a valid destination.
func TestCloneIntoEmptyFolder(t *testing.T) {
	h := newHistory(t)
	dest := t.TempDir()
	info, err := source.Clone(context.Background(), dest, h.repo.URL(), h.c2, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Dir != dest || info.Commit != h.c2 {
		t.Errorf("Info = %+v", info)
	}
	assertTree(t, dest, h.trees[h.c2])
}

// A bare repository is cloned like any other.
func TestCloneBareRepository(t *testing.T) {
	h := newHistory(t)
	bare := filepath.Join(h.repo.Root, "bare.git")
	h.repo.Git("clone", "--quiet", "--bare", h.repo.Dir, bare)
	for _, tr := range []transport{
		{"file", func(*testing.T, *testservers.GitRepo) string { return "file://" + bare }},
		{"http", func(t *testing.T, r *testservers.GitRepo) string {
			return testservers.ServeGitHTTP(t, r.Root).RepoURL(bare)
		}},
	} {
		t.Run(tr.name, func(t *testing.T) {
			url := tr.url(t, h.repo)
			dest := filepath.Join(t.TempDir(), "src")
			info, err := source.Clone(context.Background(), dest, url, "", "v1", nil)
			if err != nil {
				t.Fatal(err)
			}
			if info.Commit != h.c1 {
				t.Errorf("Commit = %s, want %s", info.Commit, h.c1)
			}
			assertTree(t, dest, h.trees[h.c1])
		})
	}
}

// skipShort skips a test that starts a server under -short, before it
// spends time making repositories.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a git HTTP server: skipped with -short")
	}
}

// assertTree compares the files of a work tree (outside .git) with want.
func assertTree(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			got[filepath.ToSlash(rel)] = "-> " + target
			return err
		}
		b, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("work tree = %q\nwant        %q", got, want)
	}
}

func assertAbsent(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("failed clone left %s behind (%v)", dir, err)
	}
}
