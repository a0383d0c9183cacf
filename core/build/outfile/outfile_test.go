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
