package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
)

// Each change to a committed work tree is judged as git itself judges it:
// the dirty flag must equal `git status --porcelain` saying anything.
func TestDirtyAgreesWithGitStatus(t *testing.T) {
	write := func(r *testservers.GitRepo, rel, data string) {
		t.Helper()
		r.WriteFile(rel, []byte(data), 0o644)
	}
	tests := []struct {
		name   string
		change func(t *testing.T, r *testservers.GitRepo)
	}{
		{"clean", func(*testing.T, *testservers.GitRepo) {}},
		{"modified, other size", func(t *testing.T, r *testservers.GitRepo) { write(r, "a.txt", "changed") }},
		{"modified, same size, same second", func(t *testing.T, r *testservers.GitRepo) { write(r, "a.txt", "A") }},
		{"removed", func(t *testing.T, r *testservers.GitRepo) { os.Remove(filepath.Join(r.Dir, "a.txt")) }},
		{"made executable", func(t *testing.T, r *testservers.GitRepo) { os.Chmod(filepath.Join(r.Dir, "a.txt"), 0o755) }},
		{"made executable, core.fileMode false", func(t *testing.T, r *testservers.GitRepo) {
			r.Git("config", "core.fileMode", "false")
			os.Chmod(filepath.Join(r.Dir, "a.txt"), 0o755)
		}},
		{"staged change", func(t *testing.T, r *testservers.GitRepo) {
			write(r, "a.txt", "staged")
			r.Git("add", "a.txt")
		}},
		{"staged, then changed back", func(t *testing.T, r *testservers.GitRepo) {
			write(r, "a.txt", "staged")
			r.Git("add", "a.txt")
			write(r, "a.txt", "a")
		}},
		{"removed from the index only", func(t *testing.T, r *testservers.GitRepo) { r.Git("rm", "-q", "--cached", "a.txt") }},
		{"intent to add", func(t *testing.T, r *testservers.GitRepo) {
			write(r, "new.txt", "x")
			r.Git("add", "-N", "new.txt")
		}},
		{"untracked file", func(t *testing.T, r *testservers.GitRepo) { write(r, "new.txt", "x") }},
		{"untracked file deep down", func(t *testing.T, r *testservers.GitRepo) { write(r, "x/y/z/new.txt", "x") }},
		{"untracked empty folder", func(t *testing.T, r *testservers.GitRepo) { os.MkdirAll(filepath.Join(r.Dir, "empty", "inner"), 0o755) }},
		{"ignored file", func(t *testing.T, r *testservers.GitRepo) { write(r, "build.log", "x") }},
		{"file in an ignored folder", func(t *testing.T, r *testservers.GitRepo) { write(r, "node_modules/p/index.js", "x") }},
		{"file ignored by a nested .gitignore", func(t *testing.T, r *testservers.GitRepo) { write(r, "dir/gen.tmp", "x") }},
		{"file a nested .gitignore re-includes", func(t *testing.T, r *testservers.GitRepo) { write(r, "dir/keep.log", "x") }},
		{"untracked beside a tracked file in an ignored folder", func(t *testing.T, r *testservers.GitRepo) { write(r, "out/new.bin", "x") }},
		{"tracked file in an ignored folder modified", func(t *testing.T, r *testservers.GitRepo) { write(r, "out/kept.bin", "changed") }},
		{"anchored pattern does not apply deeper", func(t *testing.T, r *testservers.GitRepo) { write(r, "dir/root-only.txt", "x") }},
		{"anchored pattern at the root", func(t *testing.T, r *testservers.GitRepo) { write(r, "root-only.txt", "x") }},
		{"in info/exclude", func(t *testing.T, r *testservers.GitRepo) {
			write(r, ".git/info/exclude", "/ci-report/\n")
			write(r, "ci-report/r.xml", "x")
		}},
		{"symlink retargeted", func(t *testing.T, r *testservers.GitRepo) {
			os.Remove(filepath.Join(r.Dir, "link"))
			os.Symlink("dir/b.txt", filepath.Join(r.Dir, "link"))
		}},
		{"symlink replaced by its file", func(t *testing.T, r *testservers.GitRepo) {
			os.Remove(filepath.Join(r.Dir, "link"))
			write(r, "link", "a")
		}},
		{"nested repository", func(t *testing.T, r *testservers.GitRepo) {
			write(r, "vendored/.git/HEAD", "ref: refs/heads/main\n")
			write(r, "vendored/x.txt", "x")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testservers.NewGitRepo(t, map[string]string{
				"a.txt":          "a",
				"dir/b.txt":      "b",
				".gitignore":     "*.log\nnode_modules/\nout/\n/root-only.txt\n",
				"dir/.gitignore": "*.tmp\n!keep.log\n",
			})
			r.Symlink("a.txt", "link")
			write(r, "out/kept.bin", "kept")
			r.Git("add", "-f", "out/kept.bin")
			r.Commit(nil)
			tt.change(t, r)
			want := strings.TrimSpace(r.Git("status", "--porcelain")) != ""
			info, err := WorkTree(r.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if info.Dirty != want {
				t.Fatalf("Dirty = %v; git status --porcelain says %q", info.Dirty, r.Git("status", "--porcelain"))
			}
		})
	}
}

// An ignored folder holding no tracked file is never walked: a
// node_modules (or a folder of earlier builds) costs one entry, not a walk.
func TestIgnoredFolderNotWalked(t *testing.T) {
	r := testservers.NewGitRepo(t, map[string]string{"a.txt": "a", ".gitignore": "node_modules/\n"})
	for _, p := range []string{"node_modules/a/b/c.js", "node_modules/d/e.js", "src/x/y.txt"} {
		r.WriteFile(p, []byte("x"), 0o644)
	}
	r.Git("add", "src")
	r.Commit(nil)
	var walked []string
	readDir = func(dir string) ([]os.DirEntry, error) {
		rel, _ := filepath.Rel(r.Dir, dir)
		walked = append(walked, filepath.ToSlash(rel))
		return os.ReadDir(dir)
	}
	defer func() { readDir = os.ReadDir }()
	info, err := WorkTree(r.Dir)
	if err != nil || info.Dirty {
		t.Fatalf("Info = %+v, %v; want clean", info, err)
	}
	for _, w := range walked {
		if strings.HasPrefix(w, "node_modules") {
			t.Fatalf("walked %v: the ignored folder was entered", walked)
		}
	}
	if len(walked) != 3 { // ., src, src/x
		t.Fatalf("walked %v, want the root, src and src/x", walked)
	}
}
