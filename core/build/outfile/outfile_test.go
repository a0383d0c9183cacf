package outfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a", "b", "f.json")
	if err := WriteAtomic(p, []byte("one"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(p, []byte("two"), 0o640); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if err != nil || string(b) != "two" || fi.Mode().Perm() != 0o640 {
		t.Fatalf("%q %v %v", b, err, fi.Mode())
	}
	if left := leftovers(t, filepath.Dir(p)); len(left) != 1 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// A file that already holds the bytes, with the mode, is left as it is (no
// rename, no fsync); other bytes, another mode or a link are written.
func TestWriteAtomicLeavesSameBytes(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.json")
	if err := WriteAtomic(p, []byte("same"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(p)
	if err := WriteAtomic(p, []byte("same"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(p)
	if !os.SameFile(before, after) {
		t.Error("the file holding the same bytes was replaced")
	}
	for _, tt := range []struct {
		name string
		data string
		mode os.FileMode
	}{
		{"other bytes of the same size", "diff", 0o644},
		{"other bytes", "longer", 0o644},
		{"another mode", "longer", 0o600},
	} {
		if err := WriteAtomic(p, []byte(tt.data), tt.mode); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		fi, _ := os.Stat(p)
		if err != nil || string(b) != tt.data || fi.Mode().Perm() != tt.mode {
			t.Errorf("%s: %q %v %v", tt.name, b, err, fi.Mode())
		}
	}
	// A link to a file holding the bytes is replaced by the file.
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("linked"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(link, []byte("linked"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the link was left: %v %v", fi.Mode(), err)
	}
}

// WriteAll leaves a file that holds its bytes, and writes the others.
func TestWriteAllLeavesSameBytes(t *testing.T) {
	dir := t.TempDir()
	same, changed := filepath.Join(dir, "same"), filepath.Join(dir, "changed")
	if err := WriteAll([]File{{same, []byte("a")}, {changed, []byte("b")}}, 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(same)
	if err := WriteAll([]File{{same, []byte("a")}, {changed, []byte("c")}}, 0o644); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(same); !os.SameFile(before, after) {
		t.Error("the file holding its bytes was replaced")
	}
	if b, err := os.ReadFile(changed); err != nil || string(b) != "c" {
		t.Errorf("changed: %q %v", b, err)
	}
	if left := leftovers(t, dir); len(left) != 2 {
		t.Errorf("files left: %v", left)
	}
}

// WriteAll writes every file or none: when one cannot be written, the
// others are not put in place and no temporary file stays.
func TestWriteAllAllOrNone(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "out", "vsa.json")
	blocked := filepath.Join(dir, "file-not-folder")
	if err := os.WriteFile(blocked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteAll([]File{{Path: good, Data: []byte("{}")}, {Path: filepath.Join(blocked, "x.json"), Data: []byte("{}")}}, 0o644)
	if err == nil {
		t.Fatal("WriteAll succeeded under a file")
	}
	if _, err := os.Stat(good); !os.IsNotExist(err) {
		t.Fatalf("the first file was put in place although the second failed: %v", err)
	}
	if left := leftovers(t, filepath.Dir(good)); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if err := WriteAll([]File{{Path: good, Data: []byte("a")}, {Path: filepath.Join(dir, "out", "b"), Data: []byte("b")}}, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(good); string(b) != "a" {
		t.Fatalf("%q", b)
	}
}

func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
