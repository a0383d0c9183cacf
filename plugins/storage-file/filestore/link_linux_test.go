package filestore

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// A snapshot is published as a hard link where it shares the destination's
// file system, by Put and by PutBatch; anything else is copied: a file not
// marked as a snapshot, and a snapshot on another file system.
func TestPutLinksSnapshots(t *testing.T) {
	st := New()
	dir := t.TempDir()
	snapshot := func(root, name string) string {
		p := filepath.Join(root, name)
		writeFile(t, p, []byte("hashed bytes "+name), 0o444)
		return p
	}
	same := func(a, b string) bool {
		t.Helper()
		ia, err := os.Stat(a)
		if err != nil {
			t.Fatal(err)
		}
		ib, err := os.Stat(b)
		if err != nil {
			t.Fatal(err)
		}
		return os.SameFile(ia, ib)
	}
	src := snapshot(dir, "one")
	dest := filepath.Join(dir, "pub", "one")
	if _, err := st.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: fileURL(dest), Snapshot: true}); err != nil {
		t.Fatal(err)
	}
	wantContent(t, dest, []byte("hashed bytes one"))
	if !same(src, dest) {
		t.Error("Put of a snapshot copied it: want a hard link")
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o444 {
		t.Errorf("the linked file has mode %v, want the snapshot's 0444", fi.Mode())
	}

	plain := snapshot(dir, "plain")
	b1, b2 := snapshot(dir, "b1"), snapshot(dir, "b2")
	_, err := st.PutBatch(t.Context(), &storage.PutBatchRequest{Items: []storage.PutRequest{
		{SourcePath: b1, URL: fileURL(filepath.Join(dir, "pub", "b1")), Snapshot: true},
		{SourcePath: plain, URL: fileURL(filepath.Join(dir, "pub", "plain"))},
		{SourcePath: b2, URL: fileURL(filepath.Join(dir, "pub", "b2")), Snapshot: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !same(b1, filepath.Join(dir, "pub", "b1")) || !same(b2, filepath.Join(dir, "pub", "b2")) {
		t.Error("PutBatch of snapshots copied them: want hard links")
	}
	if same(plain, filepath.Join(dir, "pub", "plain")) {
		t.Error("PutBatch linked a file not marked as a snapshot")
	}
	wantNames(t, filepath.Join(dir, "pub"), "b1", "b2", "one", "plain")

	// Another file system: /dev/shm is a tmpfs, the test's folder is not.
	shm, err := os.MkdirTemp("/dev/shm", "filestore-link-")
	if err != nil {
		t.Fatalf("a folder on another file system: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	if device(t, shm) == device(t, dir) {
		t.Fatal("/dev/shm and the test's folder are one file system")
	}
	far := snapshot(shm, "far")
	farDest := filepath.Join(dir, "pub", "far")
	if _, err := st.Put(t.Context(), &storage.PutRequest{SourcePath: far, URL: fileURL(farDest), Snapshot: true}); err != nil {
		t.Fatalf("Put of a snapshot on another file system: %v", err)
	}
	wantContent(t, farDest, []byte("hashed bytes far"))
	wantNames(t, filepath.Join(dir, "pub"), "b1", "b2", "far", "one", "plain")
}

func device(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Dev)
}
