package source_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/source"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// go-git checks out a symlink with whatever target the commit gives it;
// Clone must refuse a tree whose links lead outside the work tree.
func TestCloneRefusesEscapingSymlinks(t *testing.T) {
	tests := []struct {
		name  string
		links map[string]string // path → target
		bad   string            // the link the error names; "" for a safe tree
	}{
		{"inside", map[string]string{"link": "dir/b.txt", "dir/up": "../a.txt", "dirlink": "dir"}, ""},
		{"dangling inside", map[string]string{"later": "build/out.txt"}, ""},
		{"chain inside", map[string]string{"l1": "l2", "l2": "dir/b.txt"}, ""},
		{"absolute", map[string]string{"etc": "/etc"}, "etc"},
		{"absolute inside name", map[string]string{"abs": "/tmp"}, "abs"},
		{"parent", map[string]string{"dir/up": "../../outside"}, "dir/up"},
		{"dangling outside", map[string]string{"out": "../not-yet"}, "out"},
		// Lexically p/q/d/../../.. is the root, but d is a link to the root
		// so the kernel goes three levels above it.
		{"dot-dot through a link", map[string]string{"p/q/d": "../..", "z": "p/q/d/../../.."}, "z"},
		{"through a link to a folder", map[string]string{"dl": "dir", "x": "dl/../.."}, "x"},
		{"loop", map[string]string{"l1": "l2", "l2": "l1"}, "l1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := testservers.NewGitRepo(t, map[string]string{"a.txt": "a", "dir/b.txt": "b"})
			for p, target := range tc.links {
				full := filepath.Join(r.Dir, filepath.FromSlash(p))
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, full); err != nil {
					t.Fatal(err)
				}
			}
			r.Commit(nil)
			dest := filepath.Join(t.TempDir(), "src")
			_, err := source.Clone(context.Background(), dest, r.URL(), "", "", nil)
			if tc.bad == "" {
				if err != nil {
					t.Fatal(err)
				}
				for p, target := range tc.links {
					got, err := os.Readlink(filepath.Join(dest, p))
					if err != nil || got != target {
						t.Errorf("%s -> %q, %v; want -> %q", p, got, err, target)
					}
				}
				return
			}
			if !errors.Is(err, source.ErrUnsafeTree) {
				t.Fatalf("err = %v, want ErrUnsafeTree", err)
			}
			if !strings.Contains(err.Error(), "symbolic link "+tc.bad+" -> ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one line naming %s", err, tc.bad)
			}
			assertAbsent(t, dest)
		})
	}
}
