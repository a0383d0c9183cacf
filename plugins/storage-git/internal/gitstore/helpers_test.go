package gitstore

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/storage"
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
	files := map[string]string{"a.txt": "one\n", "dir/b.txt": "b1\n", "dir/sub/c.txt": "c1\n", "old.txt": "old\n"}
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

// via is one way of reaching a test repository: it returns the
// git+… URL of the repository, without sub-path or revision.
type via struct {
	name string
	url  func(t *testing.T, r *testservers.GitRepo) string
}

var vias = []via{
	{"file", func(t *testing.T, r *testservers.GitRepo) string { return "git+" + r.URL() }},
	{"http", func(t *testing.T, r *testservers.GitRepo) string {
		return "git+" + testservers.ServeGitHTTP(t, r.Root).RepoURL(r.Dir)
	}},
}

// get runs Get of u into a fresh destination and returns the destination.
func get(t *testing.T, s storage.Storage, u string, opts map[string]string) (string, *storage.GetResponse, error) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "dest")
	resp, err := s.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest, Options: opts})
	if err != nil {
		if _, serr := os.Lstat(dest); !errors.Is(serr, fs.ErrNotExist) {
			t.Errorf("Get %s failed (%v) but left the destination behind", u, err)
		}
	}
	return dest, resp, err
}

// mustGet is get that fails the test on error.
func mustGet(t *testing.T, s storage.Storage, u string, opts map[string]string) (string, *storage.GetResponse) {
	t.Helper()
	dest, resp, err := get(t, s, u, opts)
	if err != nil {
		t.Fatalf("Get %s: %v", u, err)
	}
	return dest, resp
}

// readTree returns the files below dir (path → content) and fails on
// anything but regular files and directories.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			if rel == ".git" {
				t.Errorf("%s holds a .git folder", dir)
			}
			return nil
		case !d.Type().IsRegular():
			t.Errorf("%s: %v, want only regular files and directories", rel, d.Type())
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkTree compares the files below dir with want.
func checkTree(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := readTree(t, dir)
	if !maps.Equal(got, want) {
		t.Errorf("tree at %s:\n got %v\nwant %v", dir, sorted(got), sorted(want))
	}
}

func sorted(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+strings.TrimSpace(v))
	}
	slices.Sort(out)
	return out
}

// subtree is the part of files below dir, relative to it.
func subtree(files map[string]string, dir string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		if rest, ok := strings.CutPrefix(k, dir+"/"); ok {
			out[rest] = v
		}
	}
	return out
}

func size(files map[string]string) int64 {
	var n int64
	for _, v := range files {
		n += int64(len(v))
	}
	return n
}

// mode returns the permission bits of p.
func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
