package source_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/source"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

func TestWorkTree(t *testing.T) {
	r := testservers.NewGitRepo(t, map[string]string{"a.txt": "a", "dir/b.txt": "b"})
	head := r.Commit(map[string]string{"a.txt": "a2"})

	info, err := source.WorkTree(filepath.Join(r.Dir, "dir"))
	if err != nil {
		t.Fatal(err)
	}
	want := source.Info{Repo: r.Dir, Commit: head, Dir: r.Dir, CommitTime: r.CommitTime(1)}
	if !info.CommitTime.Equal(want.CommitTime) {
		t.Errorf("CommitTime = %v, want %v", info.CommitTime, want.CommitTime)
	}
	info.CommitTime = want.CommitTime
	if info != want {
		t.Errorf("clean: Info = %+v\nwant %+v", info, want)
	}
	if got, want := info.URI(), "git+"+r.Dir+"@"+head; got != want {
		t.Errorf("URI = %q, want %q", got, want)
	}

	// A modified file makes the tree dirty; so does an untracked one.
	if err := os.WriteFile(filepath.Join(r.Dir, "a.txt"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if info, err = source.WorkTree(r.Dir); err != nil || !info.Dirty || info.Commit != head {
		t.Errorf("modified: Info = %+v, %v; want dirty at %s", info, err, head)
	}
	r.Git("checkout", "--", "a.txt")
	if err := os.WriteFile(filepath.Join(r.Dir, "new.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if info, err = source.WorkTree(r.Dir); err != nil || !info.Dirty {
		t.Errorf("untracked: Info = %+v, %v; want dirty", info, err)
	}
	// Files the repository's own exclude file names are no change, as for
	// git status (CI tools mark their files there).
	if err := os.WriteFile(filepath.Join(r.Dir, ".git", "info", "exclude"), []byte("# CI\n/new.txt\n/reports/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(r.Dir, "reports", "dotenv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "reports", "dotenv", "build.env"), []byte("X=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if info, err = source.WorkTree(filepath.Join(r.Dir, "dir")); err != nil || info.Dirty {
		t.Errorf("untracked files in info/exclude: Info = %+v, %v; want clean", info, err)
	}
}

func TestWorkTreeRemote(t *testing.T) {
	r := testservers.NewGitRepo(t, map[string]string{"a.txt": "a"})
	r.Git("remote", "add", "origin", "https://ci:s3cret@git.example.com/org/app.git")
	info, err := source.WorkTree(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://git.example.com/org/app.git"; info.Repo != want {
		t.Errorf("Repo = %q, want %q", info.Repo, want)
	}
}

func TestWorkTreeUnversioned(t *testing.T) {
	dir := t.TempDir()
	info, err := source.WorkTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := (source.Info{Dir: dir}); info != want {
		t.Errorf("Info = %+v, want %+v", info, want)
	}
	if got, want := info.URI(), "file://"+filepath.ToSlash(dir); got != want {
		t.Errorf("URI = %q, want %q", got, want)
	}
}

func TestStripCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pass@git.example.com/org/app.git": "https://git.example.com/org/app.git",
		"https://token@git.example.com/app.git":         "https://git.example.com/app.git",
		"https://git.example.com/app.git":               "https://git.example.com/app.git",
		"/srv/git/app":                                  "/srv/git/app",
		"https://us%er:p@ss@host/app":                   "https://host/app", // does not parse
		"git@github.com:org/app.git":                    "git@github.com:org/app.git",
		"https://u:p/w@host/app":                        "https://host/app", // "/" in the password
		"https://u:p%zz@host/app?x=@y":                  "https://host/app?x=@y",
	} {
		if got := source.StripCredentials(in); got != want {
			t.Errorf("StripCredentials(%q) = %q, want %q", in, got, want)
		}
	}
}
