package run

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
)

// What is published is the copy made while hashing: a change to the work
// tree's file after it was hashed (a process outside the build rewriting
// dist/) changes nothing of what leaves the machine.
func TestPublishedBytesAreTheHashedBytes(t *testing.T) {
	work := t.TempDir()
	art := filepath.Join(work, "dist", "app.bin")
	if err := os.MkdirAll(filepath.Dir(art), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(art, []byte("the bytes the build made"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.New(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	arts, err := hashArtifacts(context.Background(), []string{art}, "artifacts", ws.Snapshots())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(art, []byte("bytes swapped in after hashing"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := arts[0]
	if a.Bytes() == a.Path {
		t.Fatalf("the artifact is published from the work tree (%s), not from a copy", a.Path)
	}
	got, _, err := digest.File(a.Bytes(), digest.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	if err := digest.Matches(a.Digest, got); err != nil {
		t.Errorf("the published file does not hold the hashed bytes: %v", err)
	}
	if fi, err := os.Stat(a.Bytes()); err != nil || fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("the copy is writable: %v %v", fi.Mode(), err)
	}
}
