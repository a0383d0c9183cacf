package s3store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// flipByte corrupts one byte of an object behind the server's back, in its
// posix backend, keeping the size and the stored checksum.
func flipByte(t *testing.T, f *fixture, key string, off int64) {
	t.Helper()
	p := filepath.Join(f.srv.Dir, testBucket, filepath.FromSlash(key))
	fh, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	b := make([]byte, 1)
	if _, err := fh.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := fh.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestGetVerifiesChecksum corrupts stored objects: Get must notice through
// the server's checksum, full-object (one PUT) or composite (multipart),
// and leave nothing at DestPath.
func TestGetVerifiesChecksum(t *testing.T) {
	f := newFixture(t, nil, WithPartSize(5<<20))
	for _, tc := range []struct {
		name string
		size int64
	}{
		{"single", 1 << 20},
		{"multipart", 12<<20 + 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, _ := randomFile(t, t.TempDir(), "obj", tc.size, 3)
			key := "verify/" + tc.name
			u := "s3://" + testBucket + "/" + key
			if _, err := f.store.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: u}); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(t.TempDir(), "ok")
			if _, err := f.store.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest}); err != nil {
				t.Fatalf("Get before the corruption: %v", err)
			}
			flipByte(t, f, key, tc.size-2)
			dest = filepath.Join(t.TempDir(), "bad")
			_, err := f.store.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest})
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), "checksum") {
				t.Errorf("Get of a corrupted object: %v, want a checksum mismatch", err)
			}
			t.Logf("Get of a corrupted object: %v", err)
			if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a failed Get left %s behind", dest)
			}
		})
	}
}
