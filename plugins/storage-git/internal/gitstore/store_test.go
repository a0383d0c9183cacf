package gitstore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

func TestGetRevisions(t *testing.T) {
	h := newHistory(t)
	s := New()
	for _, tr := range vias {
		t.Run(tr.name, func(t *testing.T) {
			repo := tr.url(t, h.repo)
			for _, tc := range []struct {
				name, suffix, want string
			}{
				{"default branch", "", h.c4},
				{"HEAD", "@HEAD", h.c4},
				{"branch", "@main", h.c4},
				{"other branch", "@feature", h.c3},
				{"full branch ref", "@refs/heads/feature", h.c3},
				{"annotated tag", "@v1", h.c1},
				{"full tag ref", "@refs/tags/v1", h.c1},
				{"lightweight tag", "@light", h.c3},
				{"commit", "@" + h.c2, h.c2},
				{"commit upper case", "@" + strings.ToUpper(h.c1), h.c1},
				{"commit off any branch tip", "@" + h.c1, h.c1},
			} {
				t.Run(tc.name, func(t *testing.T) {
					u := repo + tc.suffix
					dest, resp := mustGet(t, s, u, nil)
					checkTree(t, dest, h.trees[tc.want])
					want := h.trees[tc.want]
					if resp.Revision != tc.want || !resp.IsDir || resp.Files != int64(len(want)) || resp.Bytes != size(want) {
						t.Errorf("Get %s: %+v, want Revision %s, IsDir, %d files, %d bytes", u, resp, tc.want, len(want), size(want))
					}
					if mode(t, dest) != 0o755 {
						t.Errorf("destination mode %v, want 0755", mode(t, dest))
					}

					st, err := s.Stat(t.Context(), &storage.StatRequest{URL: u})
					if err != nil {
						t.Fatalf("Stat %s: %v", u, err)
					}
					if !st.IsDir || st.Size != size(want) || st.ModTime.IsZero() {
						t.Errorf("Stat %s: %+v, want a directory of %d bytes with a time", u, st, size(want))
					}

					rev, err := s.ResolvedRevision(t.Context(), u, nil)
					if err != nil || rev != tc.want {
						t.Errorf("ResolvedRevision %s = %q, %v; want %s", u, rev, err, tc.want)
					}
				})
			}
		})
	}
}

func TestGetSubPath(t *testing.T) {
	h := newHistory(t)
	s := New()
	for _, tr := range vias {
		t.Run(tr.name, func(t *testing.T) {
			repo := tr.url(t, h.repo)
			t.Run("folder", func(t *testing.T) {
				for _, u := range []string{repo + "//dir@v1", repo + "//dir/@v1", repo + "///dir/./@v1"} {
					dest, resp := mustGet(t, s, u, nil)
					checkTree(t, dest, subtree(h.trees[h.c1], "dir"))
					if resp.Revision != h.c1 || !resp.IsDir || resp.Files != 2 {
						t.Errorf("Get %s: %+v", u, resp)
					}
				}
			})
			t.Run("nested folder at HEAD", func(t *testing.T) {
				dest, _ := mustGet(t, s, repo+"//dir/sub", nil)
				checkTree(t, dest, map[string]string{"c.txt": "c1\n"})
			})
			t.Run("file", func(t *testing.T) {
				u := repo + "//dir/b.txt@" + h.c4
				dest, resp := mustGet(t, s, u, nil)
				data, err := os.ReadFile(dest)
				if err != nil || string(data) != "b4\n" {
					t.Errorf("Get %s wrote %q (%v), want the file b4", u, data, err)
				}
				if resp.IsDir || resp.Files != 1 || resp.Bytes != 3 || resp.Revision != h.c4 {
					t.Errorf("Get %s: %+v", u, resp)
				}
				if mode(t, dest) != 0o644 {
					t.Errorf("mode %v, want 0644", mode(t, dest))
				}
				st, err := s.Stat(t.Context(), &storage.StatRequest{URL: u})
				if err != nil || st.IsDir || st.Size != 3 {
					t.Errorf("Stat %s: %+v, %v; want a file of 3 bytes", u, st, err)
				}
			})
			t.Run("missing", func(t *testing.T) {
				for _, u := range []string{
					repo + "//nope@v1",
					repo + "//feature.txt@v1", // only on the feature branch
					repo + "//dir/nope/deeper",
					repo + "//a.txt/below-a-file",
				} {
					_, _, err := get(t, s, u, nil)
					if !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("Get %s: %v, want fs.ErrNotExist", u, err)
					}
					if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: u}); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("Stat %s: %v, want fs.ErrNotExist", u, err)
					}
				}
			})
		})
	}
}

func TestGetMissing(t *testing.T) {
	h := newHistory(t)
	s := New()
	for _, tr := range vias {
		t.Run(tr.name, func(t *testing.T) {
			repo := tr.url(t, h.repo)
			for _, tc := range []struct{ url, msg string }{
				{repo + "@nope", "revision nope not found"},
				{repo + "@refs/heads/nope", "no such ref"},
				{repo + "@" + strings.Repeat("ab", 20), "revision abab"},
				{strings.Replace(repo, "/repo", "/no-such-repo", 1), "repository not found"},
			} {
				_, _, err := get(t, s, tc.url, nil)
				if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("Get %s: %v, want fs.ErrNotExist saying %q", tc.url, err, tc.msg)
				}
				if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: tc.url}); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Stat %s: %v, want fs.ErrNotExist", tc.url, err)
				}
				if _, err := s.ResolvedRevision(t.Context(), tc.url, nil); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("ResolvedRevision %s: %v, want fs.ErrNotExist", tc.url, err)
				}
			}
		})
	}
	t.Run("not a repository", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"git+file://" + dir, "git+file://" + dir + "/file", "git+file://" + dir + "/missing//x@main"} {
			if _, _, err := get(t, s, u, nil); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Get %s: %v, want fs.ErrNotExist", u, err)
			}
		}
	})
	t.Run("empty repository", func(t *testing.T) {
		r := testservers.NewGitRepo(t, nil)
		empty := filepath.Join(r.Root, "empty")
		r.Git("init", "--quiet", "--bare", empty)
		if _, _, err := get(t, s, "git+file://"+empty, nil); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get of an empty repository: %v, want fs.ErrNotExist", err)
		}
	})
}

// TestBareRepository reads a bare repository in place and over HTTP.
func TestBareRepository(t *testing.T) {
	h := newHistory(t)
	bare := filepath.Join(h.repo.Root, "bare.git")
	h.repo.Git("clone", "--quiet", "--bare", h.repo.Dir, bare)
	s := New()
	urls := map[string]string{"file": "git+file://" + bare}
	if !testing.Short() {
		urls["http"] = "git+" + testservers.ServeGitHTTP(t, h.repo.Root).RepoURL(bare)
	}
	for name, repo := range urls {
		t.Run(name, func(t *testing.T) {
			dest, resp := mustGet(t, s, repo+"@v1", nil)
			checkTree(t, dest, h.trees[h.c1])
			if resp.Revision != h.c1 {
				t.Errorf("Revision %s, want %s", resp.Revision, h.c1)
			}
		})
	}
}

// TestLinkedWorkTree reads a work tree made by `git worktree add`, whose
// objects live in the main repository.
func TestLinkedWorkTree(t *testing.T) {
	h := newHistory(t)
	wt := filepath.Join(h.repo.Root, "wt")
	h.repo.Git("worktree", "add", "--quiet", "--detach", wt, "light")
	s := New()
	for rev, want := range map[string]string{"": h.c3, "@v1": h.c1, "@main": h.c4} {
		dest, resp := mustGet(t, s, "git+file://"+wt+rev, nil)
		checkTree(t, dest, h.trees[want])
		if resp.Revision != want {
			t.Errorf("Get %q: revision %s, want %s", rev, resp.Revision, want)
		}
	}
}

func TestExecutableBit(t *testing.T) {
	r := testservers.NewGitRepo(t, map[string]string{"README": "r\n"})
	r.WriteFile("bin/tool", []byte("#!/bin/sh\necho hi\n"), 0o755)
	r.WriteFile("bin/data", []byte("data\n"), 0o600) // git keeps 0644
	r.Commit(nil)
	s := New()
	dest, _ := mustGet(t, s, "git+"+r.URL(), nil)
	for rel, want := range map[string]fs.FileMode{"README": 0o644, "bin/tool": 0o755, "bin/data": 0o644, "bin": 0o755} {
		if got := mode(t, filepath.Join(dest, rel)); got != want {
			t.Errorf("%s: mode %v, want %v", rel, got, want)
		}
	}
	file, _ := mustGet(t, s, "git+"+r.URL()+"//bin/tool", nil)
	if got := mode(t, file); got != 0o755 {
		t.Errorf("single executable file: mode %v, want 0755", got)
	}
}

func TestPutUnsupported(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New().Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: "git+file:///tmp/repo//x@main"})
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Put: %v, want errors.ErrUnsupported", err)
	}
	_, err = New().Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: "git+ftp://host/repo"})
	if !errors.Is(err, storage.ErrInvalidURL) {
		t.Errorf("Put to an invalid URL: %v, want storage.ErrInvalidURL", err)
	}
}

func TestOptions(t *testing.T) {
	r := testservers.NewGitRepo(t, map[string]string{"a": "a"})
	s := New()
	u := "git+" + r.URL()
	for _, tc := range []struct {
		opts map[string]string
		msg  string
	}{
		{map[string]string{"tokn": "x"}, "unknown option tokn"},
		{map[string]string{"user": "ci"}, "user is set but token is not"},
		{map[string]string{"submodules": "recurse"}, "submodules"},
	} {
		if _, _, err := get(t, s, u, tc.opts); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Get with %v: %v, want an error saying %q", tc.opts, err, tc.msg)
		}
		if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: u, Options: tc.opts}); err == nil {
			t.Errorf("Stat with %v succeeded", tc.opts)
		}
	}
	// A token is ignored for a local repository.
	mustGet(t, s, u, map[string]string{"token": "t", "user": "u", "submodules": "skip"})
}

func TestCancel(t *testing.T) {
	r := testservers.NewGitRepo(t, nil)
	r.WriteFile("big.bin", make([]byte, 8<<20), 0o644)
	r.Commit(nil)
	s := New()
	u := "git+" + r.URL()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	dest := filepath.Join(t.TempDir(), "dest")
	if _, err := s.Get(ctx, &storage.GetRequest{URL: u, DestPath: dest}); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := s.Stat(ctx, &storage.StatRequest{URL: u}); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat with a cancelled context: %v, want context.Canceled", err)
	}

	// Cancelled on the first progress report: the rest is not written and
	// nothing is left behind.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	_, err := s.Get(ctx, &storage.GetRequest{URL: u, DestPath: dest, Progress: func(storage.Progress) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Get cancelled half-way: %v, want context.Canceled", err)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get cancelled half-way left %s behind (%v)", dest, err)
	}
}

func TestProgress(t *testing.T) {
	r := testservers.NewGitRepo(t, nil)
	r.WriteFile("a/big.bin", make([]byte, 3<<20+5), 0o644)
	r.WriteFile("b/small", []byte("small"), 0o644)
	r.Commit(nil)
	var last storage.Progress
	n := 0
	dest := filepath.Join(t.TempDir(), "dest")
	resp, err := New().Get(t.Context(), &storage.GetRequest{URL: "git+" + r.URL(), DestPath: dest, Progress: func(p storage.Progress) {
		if p.DoneBytes < last.DoneBytes || p.DoneBytes > p.TotalBytes {
			t.Errorf("progress %+v after %+v", p, last)
		}
		last = p
		n++
	}})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 || last.DoneBytes != resp.Bytes || last.TotalBytes != 3<<20+10 {
		t.Errorf("%d progress reports, last %+v, want at least 4 ending at %d/%d", n, last, resp.Bytes, 3<<20+10)
	}
}
