package digest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReaderKnownVectors(t *testing.T) {
	set, n, err := Reader(strings.NewReader("abc"), SHA1, SHA512, SHA256)
	if err != nil {
		t.Fatal(err)
	}
	want := Set{
		SHA1:   "a9993e364706816aba3e25717850c26c9cd0d89d",
		SHA256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		SHA512: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	}
	if n != 3 || len(set) != 3 {
		t.Fatalf("n=%d set=%v", n, set)
	}
	for a, h := range want {
		if set[a] != h {
			t.Errorf("%s = %s, want %s", a, set[a], h)
		}
	}
	if _, _, err := Reader(strings.NewReader(""), "md5"); err == nil {
		t.Fatal("md5 accepted")
	}
}

func TestFilesAgreesWithSha256sum(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum not installed")
	}
	dir := t.TempDir()
	var paths []string
	for i, c := range []string{"", "a", strings.Repeat("x", 3<<20+7)} {
		p := filepath.Join(dir, string(rune('a'+i)))
		write(t, p, c)
		paths = append(paths, p)
	}
	res, err := Files(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		out, err := exec.Command("sha256sum", paths[i]).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(string(out))[0]; got != r.Digest[SHA256] || r.Path != paths[i] {
			t.Errorf("%s: %s vs sha256sum %s", r.Path, r.Digest[SHA256], got)
		}
	}
}

func TestTreeMatchesShellManifest(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b.txt"), "b")
	write(t, filepath.Join(dir, "a/z.txt"), "z")
	write(t, filepath.Join(dir, "a/y/x.txt"), "x")
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	set, size, err := Tree(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "find . -type f | sed 's|^./||' | LC_ALL=C sort | xargs sha256sum | sha256sum")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Fields(string(out))[0]; set[SHA256] != want || size != 3 {
		t.Fatalf("tree digest %s size %d, shell says %s", set[SHA256], size, want)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "a/link")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Tree(context.Background(), dir); err == nil {
		t.Fatal("tree with a symlink hashed")
	}
}

func TestMatches(t *testing.T) {
	got := Set{SHA256: "aa", SHA512: "bb"}
	tests := []struct {
		name string
		want Set
		ok   bool
	}{
		{"same", Set{SHA256: "AA"}, true},
		{"both", Set{SHA256: "aa", SHA512: "bb"}, true},
		{"differs", Set{SHA256: "ab"}, false},
		{"missing alg", Set{SHA1: "aa"}, false},
		{"empty", Set{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Matches(tt.want, got)
			if (err == nil) != tt.ok {
				t.Fatalf("Matches = %v", err)
			}
		})
	}
	var mm *MismatchError
	if err := Matches(Set{SHA256: "ab"}, got); !errors.As(err, &mm) || mm.Got != "aa" {
		t.Fatalf("want MismatchError, got %v", err)
	}
}

func BenchmarkFile64MiB(b *testing.B) {
	p := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(p, make([]byte, 64<<20), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, _, err := File(p); err != nil {
			b.Fatal(err)
		}
	}
}

// The concurrent path (several algorithms) must agree with one algorithm
// at a time, across chunk boundaries, and report read errors.
func TestConcurrentAlgorithmsAgree(t *testing.T) {
	for _, size := range []int{0, 1, 1 << 20, 3<<20 + 17} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i * 7)
		}
		both, n, err := Reader(bytes.NewReader(data), SHA512, SHA1)
		if err != nil || n != int64(size) {
			t.Fatalf("size %d: n=%d err=%v", size, n, err)
		}
		for _, alg := range []string{SHA256, SHA512, SHA1} {
			one, _, _ := Reader(bytes.NewReader(data), alg)
			if one[alg] != both[alg] {
				t.Errorf("size %d: %s differs between one pass and alone", size, alg)
			}
		}
	}
	boom := errors.New("disk on fire")
	if _, _, err := Reader(io.MultiReader(bytes.NewReader(make([]byte, 2<<20)), iotest.ErrReader(boom)), SHA512); !errors.Is(err, boom) {
		t.Fatalf("read error lost: %v", err)
	}
}
