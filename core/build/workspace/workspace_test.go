package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestJoin(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "in/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(root, "in/same")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rel string
		ok  bool
	}{
		{"a.txt", true},
		{"in/sub/new.txt", true},
		{"in/same/x", true},
		{"../x", false},
		{"in/../../x", false},
		{"/etc/passwd", false},
		{"out/x", false},
		{"out", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			_, err := Join(root, tt.rel)
			if (err == nil) != tt.ok {
				t.Fatalf("Join(%q) = %v", tt.rel, err)
			}
			if err != nil && tt.rel != "" && !errors.Is(err, ErrEscape) {
				t.Fatalf("want ErrEscape, got %v", err)
			}
		})
	}
}

func TestWorkspaceLifecycle(t *testing.T) {
	w, err := New(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.StagingPath("m.tar")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("staging path exists: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(w.Root); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("workspace left behind")
	}
}

func TestPlainName(t *testing.T) {
	for name, want := range map[string]bool{
		"app.tar.gz": true, "..data": true, "a b": true,
		"": false, ".": false, "..": false, "a/b": false, `a\b`: false, "/abs": false, `..\x`: false,
	} {
		if got := PlainName(name); got != want {
			t.Errorf("PlainName(%q) = %t, want %t", name, got, want)
		}
	}
}
