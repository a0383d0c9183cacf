package s3store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

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

// TestGetVerifiesSHA256Composite checks an object that another client
// uploaded in parts with a composite SHA-256 (as this package once did):
// Get verifies that too, per part.
func TestGetVerifiesSHA256Composite(t *testing.T) {
	f := newFixture(t, nil, WithPartSize(5<<20))
	const key, partSize, size = "verify/sha256", 5 << 20, 12<<20 + 3
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	created, err := f.sdk.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{
		Bucket: aws.String(testBucket), Key: aws.String(key), ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
	})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for off := 0; off < size; off += partSize {
		part := data[off:min(off+partSize, size)]
		sum := sha256.Sum256(part)
		num := aws.Int32(int32(off/partSize + 1))
		out, err := f.sdk.UploadPart(t.Context(), &s3.UploadPartInput{
			Bucket: aws.String(testBucket), Key: aws.String(key), UploadId: created.UploadId, PartNumber: num,
			Body: bytes.NewReader(part), ChecksumSHA256: aws.String(b64(sum[:])),
		})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: num, ETag: out.ETag, ChecksumSHA256: aws.String(b64(sum[:]))})
	}
	if _, err := f.sdk.CompleteMultipartUpload(t.Context(), &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(testBucket), Key: aws.String(key), UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}); err != nil {
		t.Fatal(err)
	}
	u := "s3://" + testBucket + "/" + key
	obj, err := headObject(t.Context(), f.sdk, u, testBucket, key)
	if err != nil {
		t.Fatal(err)
	}
	if obj.checksum.algo != "SHA256" || obj.checksum.parts != 3 {
		t.Fatalf("server checksum %v, want a composite SHA256 of 3 parts", obj.checksum)
	}
	dest := filepath.Join(t.TempDir(), "ok")
	if _, err := f.store.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest}); err != nil {
		t.Fatalf("Get before the corruption: %v", err)
	}
	if got, err := os.ReadFile(dest); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the downloaded file differs from the upload (%v)", err)
	}
	flipByte(t, f, key, size-2)
	dest = filepath.Join(t.TempDir(), "bad")
	_, err = f.store.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest})
	if err == nil || !strings.Contains(err.Error(), "SHA256") || !strings.Contains(strings.ToLower(err.Error()), "checksum") {
		t.Errorf("Get of a corrupted object: %v, want a SHA256 checksum mismatch", err)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed Get left %s behind", dest)
	}
}
