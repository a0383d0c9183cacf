package binary

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mkfile(t *testing.T, path string, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestInsecure(t *testing.T) {
	root := t.TempDir()
	mkfile(t, filepath.Join(root, "ok", "bin"), "x", 0o755)
	mkfile(t, filepath.Join(root, "gw", "bin"), "x", 0o775)
	mkfile(t, filepath.Join(root, "open", "sub", "bin"), "x", 0o755)
	if err := os.Chmod(filepath.Join(root, "open"), 0o777); err != nil {
		t.Fatal(err)
	}
	mkfile(t, filepath.Join(root, "sticky", "bin"), "x", 0o755)
	if err := os.Chmod(filepath.Join(root, "sticky"), 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "open", "sub", "bin"), filepath.Join(root, "ok", "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
	}{
		{"ok/bin", ""},
		{"sticky/bin", ""},
		{"gw/bin", "is writable by group or others (mode 0775)"},
		{"open/sub/bin", "directory " + filepath.Join(root, "open") + " is writable by group or others (mode 0777)"},
		{"ok/link", "directory " + filepath.Join(root, "open") + " is writable"},
		{"missing", "cannot resolve"},
	}
	for _, tt := range tests {
		got := Insecure(filepath.Join(root, tt.path))
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("Insecure(%s) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func sumOf(data string) string {
	s := sha256.Sum256([]byte(data))
	return "sha256:" + hex.EncodeToString(s[:])
}

// The cache answers only for exactly the file state it saw: new content,
// even of the same size with the old modification time put back, is
// hashed again.
func TestSumCacheNoticesEveryChange(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	mkfile(t, bin, "version-1", 0o755)
	cache := NewSumCache(filepath.Join(dir, "cache", "sums.json"))
	sum := func() string {
		t.Helper()
		f, err := Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		s, err := f.SHA256(cache)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := sum(); got != sumOf("version-1") {
		t.Fatalf("first hash %s", got)
	}
	if err := cache.Save(); err != nil {
		t.Fatal(err)
	}
	// A fresh cache reads the saved entry.
	cache = NewSumCache(filepath.Join(dir, "cache", "sums.json"))
	if got := sum(); got != sumOf("version-1") {
		t.Fatalf("cached %s", got)
	}
	fi, _ := os.Stat(bin)
	mtime := fi.ModTime()
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(bin, []byte("version-2"), 0o755); err != nil { // same size, same inode
		t.Fatal(err)
	}
	if err := os.Chtimes(bin, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if got := sum(); got != sumOf("version-2") {
		t.Fatalf("after an in-place rewrite with the old mtime: %s, want the new content's sum", got)
	}
}

func TestSumCacheInAnOpenFolderIsNotRead(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	mkfile(t, filepath.Join(open, "sums.json"), `{"x":"sha256:00"}`, 0o644)
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	c := NewSumCache(filepath.Join(open, "sums.json"))
	if _, ok := c.get("x"); ok {
		t.Fatal("a cache others could write was trusted")
	}
}

func TestOpenRefusesInsecureAndOdd(t *testing.T) {
	dir := t.TempDir()
	mkfile(t, filepath.Join(dir, "gw"), "x", 0o777)
	if _, err := Open(filepath.Join(dir, "gw")); err == nil || !strings.Contains(err.Error(), "refusing to run plugin") {
		t.Fatalf("group-writable: %v", err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: %v", err)
	}
}
