package filestore

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

func fileURL(p string) string { return (&url.URL{Scheme: "file", Path: p}).String() }

// writeFile writes data to p with exactly mode, creating parents.
func writeFile(t testing.TB, p string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// names lists the entries of dir, to spot leftover temporary files.
func names(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func wantNames(t testing.TB, dir string, want ...string) {
	t.Helper()
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

func wantContent(t testing.TB, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes differ from the %d expected", p, len(got), len(want))
	}
}

func wantAbsent(t testing.TB, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("%s exists (%v), want it absent", p, err)
	}
}

// get runs Get of u into a fresh path and returns that path.
func get(t testing.TB, ctx context.Context, u string) (string, *storage.GetResponse, error) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "dest")
	resp, err := New().Get(ctx, &storage.GetRequest{URL: u, DestPath: dest})
	return dest, resp, err
}

func putURL(t testing.TB, ctx context.Context, src, u string, progress storage.ProgressFunc) (*storage.PutResponse, error) {
	t.Helper()
	return New().Put(ctx, &storage.PutRequest{SourcePath: src, URL: u, Progress: progress})
}
