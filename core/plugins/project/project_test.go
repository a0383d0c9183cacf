package project

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
)

// tree creates the files named (relative, "/" separated; a name ending in
// "/" is a folder) under a new temporary folder and returns it.
func tree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestFindLock(t *testing.T) {
	const lock = lockfile.FileName
	for _, tc := range []struct {
		name  string
		files []string
		dir   string   // where the project is, relative to the tree
		extra []string // WithLockDirs, relative to the tree
		want  string   // the lock found, relative; "" for none
	}{
		{"beside", []string{"p/" + lock}, "p", nil, "p/" + lock},
		{"none", []string{"p/"}, "p", nil, ""},
		{"above, inside the repository", []string{".git/", lock, "a/b/"}, "a/b", nil, lock},
		{"nearest wins", []string{".git/", lock, "a/" + lock, "a/b/"}, "a/b", nil, "a/" + lock},
		{"beside wins", []string{".git/", lock, "a/b/" + lock}, "a/b", nil, "a/b/" + lock},
		{"not above the repository root", []string{lock, "repo/.git/", "repo/a/"}, "repo/a", nil, ""},
		{"at the repository root", []string{"repo/.git/", "repo/" + lock, "repo/a/"}, "repo/a", nil, "repo/" + lock},
		{".git as a file (worktree)", []string{"wt/.git", "wt/" + lock, "wt/a/"}, "wt/a", nil, "wt/" + lock},
		{"no repository: only beside", []string{lock, "a/b/"}, "a/b", nil, ""},
		{"extra dir", []string{"pipe/" + lock, "pipe/b/"}, "pipe/b", []string{"pipe"}, "pipe/" + lock},
		{"extra dir after the walk", []string{".git/", lock, "pipe/" + lock, "b/"}, "b", []string{"pipe"}, lock},
		{"first extra dir", []string{"x/", "y/" + lock, "z/" + lock, "b/"}, "b", []string{"x", "y", "z"}, "y/" + lock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, tc.files...)
			var extra []string
			for _, e := range tc.extra {
				extra = append(extra, filepath.Join(root, e))
			}
			dir := filepath.Join(root, tc.dir)
			got, found := FindLock(dir, extra...)
			want := filepath.Join(root, filepath.FromSlash(tc.want))
			if tc.want == "" {
				want = filepath.Join(dir, lock)
			}
			if got != want || found != (tc.want != "") {
				t.Errorf("FindLock = %s, %v; want %s, %v", got, found, want, tc.want != "")
			}
		})
	}
}

// isolated keeps the search path to the project's own folder.
func isolated(t *testing.T) Option {
	t.Helper()
	env := map[string]string{"HOME": t.TempDir()}
	return WithDiscovery(discovery.WithEnv(func(k string) string { return env[k] }), discovery.WithExecutableDir(""))
}

func TestOpen(t *testing.T) {
	root := tree(t, ".git/", lockfile.FileName, "app/")
	t.Chdir(filepath.Join(root, "app"))
	p, err := Open("", isolated(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.Dir != filepath.Join(root, "app") || p.LockPath != filepath.Join(root, lockfile.FileName) || p.LockFile.Missing() {
		t.Errorf("Open: dir %s, lock %s (missing %v)", p.Dir, p.LockPath, p.LockFile.Missing())
	}
	want := discovery.Dir{Path: filepath.Join(root, "app", ".mmbuild", "plugins"), Origin: discovery.OriginProject}
	if len(p.SearchPath) != 2 || p.SearchPath[0] != want || p.SearchPath[1].Origin != discovery.OriginUser {
		t.Errorf("search path %+v, want %+v then the user's folder", p.SearchPath, want)
	}
}

func TestOpenBadLock(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, lockfile.FileName), []byte("plugin {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, isolated(t))
	var le *lockfile.Error
	if !errors.As(err, &le) {
		t.Fatalf("Open with a broken lock: %v, want a *lockfile.Error", err)
	}
}

// The host finds plugins on the search path only, and a missing plugin
// names the lock file that is missing too.
func TestHostNotFound(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(dir, isolated(t))
	if err != nil {
		t.Fatal(err)
	}
	h := p.Host()
	defer h.Close()
	_, err = h.Start(context.Background(), "nope")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "(and there is no "+filepath.Join(dir, lockfile.FileName)+")") {
		t.Fatalf("Start(nope) = %v", err)
	}
}

func TestLevelName(t *testing.T) {
	for _, tc := range []struct {
		level hclog.Level
		want  string
	}{
		{hclog.Trace, "trace"},
		{hclog.Debug, "debug"},
		{hclog.Info, "info"},
		{hclog.Warn, "warn"},
		{hclog.Error, "error"},
		{hclog.Off, "error"},
	} {
		l := hclog.New(&hclog.LoggerOptions{Level: tc.level, Output: os.Stderr})
		if got := levelName(l); got != tc.want {
			t.Errorf("levelName(%v) = %s, want %s", tc.level, got, tc.want)
		}
	}
}
