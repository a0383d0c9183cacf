//go:build unix

package filestore

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// TestRefusedTrees builds trees that must not be copied, and checks Stat, Get
// and Put (with the tree as source) refuse them with the same error, leave
// nothing behind, and do not hang.
func TestRefusedTrees(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		want  error // nil: an error matching none of the sentinels
	}{
		{"symlink absolute out", func(t *testing.T, root string) {
			symlink(t, "/etc/passwd", filepath.Join(root, "evil"))
		}, storage.ErrUnsafePath},
		{"symlink relative out", func(t *testing.T, root string) {
			symlink(t, "../../outside.txt", filepath.Join(root, "sub", "evil"))
		}, storage.ErrUnsafePath},
		{"symlink chain out", func(t *testing.T, root string) {
			symlink(t, "l2", filepath.Join(root, "l1"))
			symlink(t, "../outside.txt", filepath.Join(root, "l2"))
		}, storage.ErrUnsafePath},
		{"symlink to /dev/null", func(t *testing.T, root string) {
			symlink(t, "/dev/null", filepath.Join(root, "null"))
		}, storage.ErrUnsafePath},
		{"symlink to a directory outside", func(t *testing.T, root string) {
			symlink(t, "/etc", filepath.Join(root, "etc"))
		}, storage.ErrUnsafePath},
		{"dangling symlink out", func(t *testing.T, root string) {
			symlink(t, "/nonexistent/mmbuild/x", filepath.Join(root, "evil"))
		}, storage.ErrUnsafePath},
		{"dangling symlink inside", func(t *testing.T, root string) {
			symlink(t, "not-there", filepath.Join(root, "broken"))
		}, nil},
		{"symlink to a directory inside", func(t *testing.T, root string) {
			symlink(t, "sub", filepath.Join(root, "alias"))
		}, errors.ErrUnsupported},
		{"symlink to the root", func(t *testing.T, root string) {
			symlink(t, ".", filepath.Join(root, "sub", "loop"))
		}, errors.ErrUnsupported},
		{"fifo", func(t *testing.T, root string) {
			mkfifo(t, filepath.Join(root, "sub", "pipe"))
		}, storage.ErrUnsafePath},
		{"symlink to a fifo inside", func(t *testing.T, root string) {
			mkfifo(t, filepath.Join(root, "pipe"))
			symlink(t, "pipe", filepath.Join(root, "a-link"))
		}, storage.ErrUnsafePath},
		{"socket", func(t *testing.T, root string) {
			l, err := net.Listen("unix", filepath.Join(root, "s"))
			if err != nil {
				t.Skipf("unix socket: %v", err)
			}
			t.Cleanup(func() { l.Close() })
		}, storage.ErrUnsafePath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "outside.txt"), []byte("secret"), 0o644)
			root := filepath.Join(dir, "tree")
			writeFile(t, filepath.Join(root, "a.txt"), []byte("a"), 0o644)
			writeFile(t, filepath.Join(root, "sub", "b.txt"), []byte("b"), 0o644)
			tt.setup(t, root)
			u := fileURL(root)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()

			check := func(op string, err error) {
				t.Helper()
				switch {
				case err == nil:
					t.Errorf("%s succeeded, want an error", op)
				case ctx.Err() != nil:
					t.Fatalf("%s hung: %v", op, err)
				case tt.want != nil && !errors.Is(err, tt.want):
					t.Errorf("%s: %v, want %v", op, err, tt.want)
				case tt.want == nil && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, storage.ErrUnsafePath)):
					t.Errorf("%s: %v, want a plain error", op, err)
				}
			}
			_, err := New().Stat(ctx, &storage.StatRequest{URL: u})
			check("Stat", err)
			dest, _, err := get(t, ctx, u)
			check("Get", err)
			wantAbsent(t, dest)

			out := t.TempDir()
			_, err = putURL(t, ctx, root, fileURL(filepath.Join(out, "copy")), nil)
			check("Put", err)
			wantNames(t, out)
		})
	}
}

func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

// TestRefusedURLs checks URLs naming something other than a file or a
// directory, and ".." URLs.
func TestRefusedURLs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	mkfifo(t, fifo)
	link := filepath.Join(dir, "null")
	symlink(t, "/dev/null", link)
	writeFile(t, filepath.Join(dir, "b"), []byte("b"), 0o644)

	tests := []struct {
		url  string
		want error
	}{
		{"file:///dev/null", storage.ErrUnsafePath},
		{fileURL(fifo), storage.ErrUnsafePath},
		{fileURL(link), storage.ErrUnsafePath}, // resolved: the user named it, but it is a device
		{"file://" + dir + "/a/../b", storage.ErrUnsafePath},
		{"file://" + dir + "/%2e%2e/" + filepath.Base(dir) + "/b", storage.ErrUnsafePath},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		if _, err := New().Stat(ctx, &storage.StatRequest{URL: tt.url}); !errors.Is(err, tt.want) {
			t.Errorf("Stat %s: %v, want %v", tt.url, err, tt.want)
		}
		dest, _, err := get(t, ctx, tt.url)
		if !errors.Is(err, tt.want) {
			t.Errorf("Get %s: %v, want %v", tt.url, err, tt.want)
		}
		wantAbsent(t, dest)
		cancel()
	}

	// Put takes the destination literally too.
	src := filepath.Join(dir, "b")
	for _, u := range []string{"file://" + dir + "/x/../y", "file://" + dir + "/x/%2E%2E/y"} {
		if _, err := putURL(t, t.Context(), src, u, nil); !errors.Is(err, storage.ErrUnsafePath) {
			t.Errorf("Put %s: %v, want storage.ErrUnsafePath", u, err)
		}
	}
	wantNames(t, dir, "b", "null", "pipe")
}

// TestGetCopiesInnerLinks checks symlinks to files inside the tree become
// regular files, and a URL that is itself a symlink is resolved.
func TestGetCopiesInnerLinks(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "tree")
	writeFile(t, filepath.Join(root, "bin", "tool"), []byte("#!/bin/sh\n"), 0o755)
	symlink(t, "bin/tool", filepath.Join(root, "tool-link"))
	symlink(t, "../tree/bin/tool", filepath.Join(root, "out-and-back"))
	symlink(t, "tree", filepath.Join(dir, "tree-link"))
	symlink(t, "tree/bin/tool", filepath.Join(dir, "file-link"))

	dest, resp, err := get(t, t.Context(), fileURL(filepath.Join(dir, "tree-link")))
	if err != nil {
		t.Fatal(err)
	}
	if !resp.IsDir || resp.Files != 3 || resp.Bytes != 30 {
		t.Errorf("Get: %+v, want a tree of 3 files, 30 bytes", resp)
	}
	for _, rel := range []string{"bin/tool", "tool-link", "out-and-back"} {
		p := filepath.Join(dest, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, want a regular file of mode 0755", rel, fi.Mode())
		}
		wantContent(t, p, []byte("#!/bin/sh\n"))
	}

	dest, resp, err = get(t, t.Context(), fileURL(filepath.Join(dir, "file-link")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.IsDir || resp.Files != 1 || resp.Bytes != 10 {
		t.Errorf("Get: %+v, want one file of 10 bytes", resp)
	}
	wantContent(t, dest, []byte("#!/bin/sh\n"))
}

// TestOpenRegularStaysInside checks the last line of defence against a tree
// changed after it was checked: files are opened inside the root only, and
// must be regular files.
func TestOpenRegularStaysInside(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "outside"), []byte("secret"), 0o644)
	root := filepath.Join(dir, "tree")
	writeFile(t, filepath.Join(root, "ok"), []byte("ok"), 0o644)
	symlink(t, "../outside", filepath.Join(root, "out"))
	symlink(t, "..", filepath.Join(root, "up"))
	mkfifo(t, filepath.Join(root, "pipe"))
	base, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()

	f, err := openRegular(base, "ok")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, name := range []string{"out", "up/outside", "../outside", "/etc/passwd"} {
		if f, err := openRegular(base, name); err == nil {
			f.Close()
			t.Errorf("openRegular(%q) left the root", name)
		}
	}
	done := make(chan error, 1)
	go func() {
		f, err := openRegular(base, "pipe")
		if err == nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, storage.ErrUnsafePath) {
			t.Errorf("openRegular(fifo): %v, want storage.ErrUnsafePath", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("openRegular blocked on a fifo")
	}
}
