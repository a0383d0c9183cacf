package gitstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// linkRepo is a repository holding files and symbolic links (link → target).
func linkRepo(t *testing.T, files, links map[string]string) *testservers.GitRepo {
	t.Helper()
	r := testservers.NewGitRepo(t, files)
	for link, target := range links {
		r.Symlink(target, link)
	}
	r.Commit(nil)
	return r
}

func TestSymlinksInside(t *testing.T) {
	r := testservers.NewGitRepo(t, map[string]string{"a.txt": "a\n", "dir/b.txt": "b\n"})
	r.WriteFile("tools/run.sh", []byte("#!/bin/sh\n"), 0o755)
	for link, target := range map[string]string{
		"link-file":      "a.txt",
		"link-exec":      "tools/run.sh",
		"chain":          "link-file",
		"dir/up":         "../a.txt",
		"dir/roundabout": "../dir/../tools/../a.txt",
		"dir/via-link":   "../chain",
	} {
		r.Symlink(target, link)
	}
	r.Commit(nil)
	s := New()
	for _, tr := range vias {
		t.Run(tr.name, func(t *testing.T) {
			repo := tr.url(t, r)
			dest, resp := mustGet(t, s, repo, nil)
			want := map[string]string{
				"a.txt": "a\n", "dir/b.txt": "b\n", "tools/run.sh": "#!/bin/sh\n",
				"link-file": "a\n", "link-exec": "#!/bin/sh\n", "chain": "a\n",
				"dir/up": "a\n", "dir/roundabout": "a\n", "dir/via-link": "a\n",
			}
			checkTree(t, dest, want)
			if resp.Files != int64(len(want)) || resp.Bytes != size(want) {
				t.Errorf("Get: %+v, want %d files of %d bytes", resp, len(want), size(want))
			}
			if got := mode(t, filepath.Join(dest, "link-exec")); got != 0o755 {
				t.Errorf("link to an executable: mode %v, want 0755", got)
			}
			if got := mode(t, filepath.Join(dest, "link-file")); got != 0o644 {
				t.Errorf("link to a file: mode %v, want 0644", got)
			}
			// A link named by the URL is followed.
			file, _ := mustGet(t, s, repo+"//chain", nil)
			if data, err := os.ReadFile(file); err != nil || string(data) != "a\n" {
				t.Errorf("Get of a link: %q, %v", data, err)
			}
		})
	}
}

func TestSymlinksRefused(t *testing.T) {
	s := New()
	files := map[string]string{"a.txt": "a\n", "dir/b.txt": "b\n"}
	for _, tc := range []struct {
		name  string
		links map[string]string
		sub   string // sub-path to Get
		want  error  // nil: an error that is none of the contract's sentinels
		msg   string
	}{
		{"relative out", map[string]string{"x": "../../../../etc/passwd"}, "", storage.ErrUnsafePath, "x -> ../../../../etc/passwd"},
		{"absolute", map[string]string{"x": "/etc/passwd"}, "", storage.ErrUnsafePath, "absolute target"},
		{"absolute inside", map[string]string{"x": "/a.txt"}, "", storage.ErrUnsafePath, "absolute target"},
		{"out and back in", map[string]string{"dir/x": "../../repo/a.txt"}, "", storage.ErrUnsafePath, "leads outside"},
		{"out of the sub-path", map[string]string{"dir/x": "../a.txt"}, "//dir", storage.ErrUnsafePath, "dir/x"},
		{"through a link out", map[string]string{"up": "..", "dir/x": "../up/repo/a.txt"}, "//dir", storage.ErrUnsafePath, "leads outside"},
		{"dangling out", map[string]string{"x": "../missing"}, "", storage.ErrUnsafePath, "leads outside"},
		{"below a file, out", map[string]string{"x": "a.txt/../../../etc"}, "", storage.ErrUnsafePath, "leads outside"},
		{"sub-path through a link out", map[string]string{"up": "../.."}, "//up/etc", storage.ErrUnsafePath, "up/etc"},
		{"directory", map[string]string{"d": "dir"}, "", errors.ErrUnsupported, "points to a directory"},
		{"dangling inside", map[string]string{"x": "missing"}, "", nil, "broken symbolic link x -> missing"},
		{"loop", map[string]string{"x": "y", "y": "x"}, "", nil, "too many levels of symbolic links"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := linkRepo(t, files, tc.links)
			u := "git+" + r.URL() + tc.sub
			_, _, err := get(t, s, u, nil)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Get %s: %v, want an error saying %q", u, err, tc.msg)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Get %s: %v, want %v", u, err, tc.want)
			}
			if tc.want == nil {
				for _, sentinel := range []error{fs.ErrNotExist, storage.ErrUnsafePath, errors.ErrUnsupported} {
					if errors.Is(err, sentinel) {
						t.Errorf("Get %s: %v matches %v", u, err, sentinel)
					}
				}
			}
			if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: u}); err == nil {
				t.Errorf("Stat %s succeeded, want the error Get gives", u)
			}
		})
	}
}

// TestSubPathThroughLink follows a link named by the URL's sub-path.
func TestSubPathThroughLink(t *testing.T) {
	r := linkRepo(t, map[string]string{"dir/b.txt": "b\n", "dir/sub/c.txt": "c\n"}, map[string]string{"ld": "dir"})
	s := New()
	dest, _ := mustGet(t, s, "git+"+r.URL()+"//ld", nil)
	checkTree(t, dest, map[string]string{"b.txt": "b\n", "sub/c.txt": "c\n"})
	dest, _ = mustGet(t, s, "git+"+r.URL()+"//ld/sub/c.txt", nil)
	if data, err := os.ReadFile(dest); err != nil || string(data) != "c\n" {
		t.Errorf("Get through a link: %q, %v", data, err)
	}
}

func TestSubmodules(t *testing.T) {
	r := testservers.NewGitRepo(t, map[string]string{"a.txt": "a\n", "vendor/keep.txt": "k\n"})
	// A gitlink, as `git submodule add` records it, without the other
	// repository: a plain Get never needs it.
	r.Git("update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("1", 40)+",vendor/lib")
	r.Git("commit", "--quiet", "-m", "submodule")
	s := New()
	u := "git+" + r.URL()

	_, _, err := get(t, s, u, nil)
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "vendor/lib") || !strings.Contains(err.Error(), "submodules=skip") {
		t.Errorf("Get of a tree with a submodule: %v, want errors.ErrUnsupported naming vendor/lib and the option", err)
	}
	if _, _, err := get(t, s, u+"//vendor/lib", nil); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Get of a submodule: %v, want errors.ErrUnsupported", err)
	}

	dest, resp := mustGet(t, s, u, map[string]string{"submodules": "skip"})
	checkTree(t, dest, map[string]string{"a.txt": "a\n", "vendor/keep.txt": "k\n"})
	if resp.Files != 2 {
		t.Errorf("Get with submodules=skip: %+v, want 2 files", resp)
	}
	// A sub-path without the submodule needs no option.
	mustGet(t, s, u+"//vendor/keep.txt", nil)
}

// TestCraftedTree reads trees git itself never writes but `git mktree`
// accepts: a tree entry must not climb out of the destination or plant a
// .git folder in it.
func TestCraftedTree(t *testing.T) {
	r := testservers.NewGitRepo(t, map[string]string{"a.txt": "a\n"})
	blob := r.Git("rev-parse", "HEAD:a.txt")
	s := New()
	for i, name := range []string{".git", ".GIT", "..", "."} {
		t.Run(name, func(t *testing.T) {
			bad := mktree(t, r, fmt.Sprintf("100644 blob %s\t%s\n100644 blob %s\tok.txt\n", blob, name, blob))
			// Also one level down, where it would land inside the destination.
			top := mktree(t, r, fmt.Sprintf("040000 tree %s\tsub\n100644 blob %s\tok.txt\n", bad, blob))
			for j, tree := range []string{bad, top} {
				branch := fmt.Sprintf("crafted-%d-%d", i, j)
				commit := r.Git("commit-tree", "-m", "crafted", tree)
				r.Git("update-ref", "refs/heads/"+branch, commit)
				u := "git+" + r.URL() + "@" + branch
				if _, _, err := get(t, s, u, nil); !errors.Is(err, storage.ErrUnsafePath) {
					t.Errorf("Get of a tree holding %q: %v, want storage.ErrUnsafePath", name, err)
				}
			}
		})
	}
}

// mktree writes a tree object from a `git ls-tree` listing, as is.
func mktree(t *testing.T, r *testservers.GitRepo, listing string) string {
	t.Helper()
	cmd := exec.Command("git", "mktree")
	cmd.Dir = r.Dir
	cmd.Stdin = strings.NewReader(listing)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git mktree: %v", err)
	}
	return strings.TrimSpace(string(out))
}
