package s3store

import (
	"bytes"
	"encoding/hex"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// TestContentDigest checks, against versitygw, that Stat vouches for an
// object's SHA-256 only through the server's own checksum: a single PUT's
// full-object checksum, a multipart upload's composite matched against the
// one recorded at upload; an object another client wrote without a SHA-256
// checksum, or rewrote under the recorded metadata, gets none.
func TestContentDigest(t *testing.T) {
	f := newFixture(t, nil, WithPartSize(5<<20))
	dir := t.TempDir()
	small, smallSum := randomFile(t, dir, "small.bin", 100_000, 1)
	big, bigSum := randomFile(t, dir, "big.bin", 12<<20, 2) // 3 parts
	digestOf := func(sum [32]byte) string { return "sha256:" + hex.EncodeToString(sum[:]) }
	put := func(src, key, d string) error {
		_, err := f.store.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: "s3://" + testBucket + "/" + key, Digest: d})
		return err
	}
	stat := func(key string) string {
		t.Helper()
		st, err := f.store.Stat(t.Context(), &storage.StatRequest{URL: "s3://" + testBucket + "/" + key})
		if err != nil {
			t.Fatalf("Stat %s: %v", key, err)
		}
		return st.ContentDigest
	}
	for _, c := range []struct {
		name, src, key, digest, want string
	}{
		{"single PUT with the core's digest", small, "d/small", digestOf(smallSum), digestOf(smallSum)},
		{"single PUT hashed by the plugin", small, "d/small-nodigest", "", digestOf(smallSum)},
		{"multipart with the core's digest", big, "d/big", digestOf(bigSum), digestOf(bigSum)},
		{"multipart without a digest", big, "d/big-nodigest", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := put(c.src, c.key, c.digest); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if got := stat(c.key); got != c.want {
				t.Errorf("ContentDigest %q, want %q", got, c.want)
			}
		})
	}

	t.Run("a digest that is not the file's is refused by the server", func(t *testing.T) {
		err := put(small, "d/wrong", digestOf(bigSum))
		if err == nil {
			t.Fatal("Put with another file's digest succeeded")
		}
		if _, err := f.store.Stat(t.Context(), &storage.StatRequest{URL: "s3://" + testBucket + "/d/wrong"}); err == nil {
			t.Error("the refused object is there")
		}
	})

	t.Run("an object written without a SHA-256 checksum gets none", func(t *testing.T) {
		if _, err := f.sdk.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("d/other"),
			Body: bytes.NewReader([]byte("other tool")), ChecksumAlgorithm: "CRC32"}); err != nil {
			t.Fatal(err)
		}
		if got := stat("d/other"); got != "" {
			t.Errorf("ContentDigest %q, want none", got)
		}
	})

	t.Run("recorded metadata under other bytes is not believed", func(t *testing.T) {
		head, err := f.sdk.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String("d/big")})
		if err != nil {
			t.Fatal(err)
		}
		// Another client writes other bytes in parts with the metadata
		// mmbuild recorded: the server's composite is not the recorded one.
		data, err := os.ReadFile(big)
		if err != nil {
			t.Fatal(err)
		}
		data[0] ^= 1
		other := dir + "/other.bin"
		if err := os.WriteFile(other, data, 0o644); err != nil {
			t.Fatal(err)
		}
		fo, err := os.Open(other)
		if err != nil {
			t.Fatal(err)
		}
		defer fo.Close()
		created, err := f.sdk.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{Bucket: aws.String(testBucket), Key: aws.String("d/big"),
			ChecksumAlgorithm: "SHA256", ChecksumType: "COMPOSITE", Metadata: head.Metadata})
		if err != nil {
			t.Fatal(err)
		}
		var parts []s3Part
		for i, off := 0, int64(0); off < int64(len(data)); i, off = i+1, off+5<<20 {
			end := min(off+5<<20, int64(len(data)))
			out, err := f.sdk.UploadPart(t.Context(), &s3.UploadPartInput{Bucket: aws.String(testBucket), Key: aws.String("d/big"), UploadId: created.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(data[off:end]), ChecksumAlgorithm: "SHA256"})
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, s3Part{int32(i + 1), out.ETag, out.ChecksumSHA256})
		}
		if _, err := f.sdk.CompleteMultipartUpload(t.Context(), completeInput("d/big", created.UploadId, parts)); err != nil {
			t.Fatal(err)
		}
		if got := stat("d/big"); got != "" {
			t.Errorf("ContentDigest %q for other bytes under the recorded metadata, want none", got)
		}
	})
}

type s3Part struct {
	n    int32
	etag *string
	sum  *string
}

func completeInput(key string, id *string, parts []s3Part) *s3.CompleteMultipartUploadInput {
	in := &s3.CompleteMultipartUploadInput{Bucket: aws.String(testBucket), Key: aws.String(key), UploadId: id, MultipartUpload: &s3types.CompletedMultipartUpload{}}
	for _, p := range parts {
		in.MultipartUpload.Parts = append(in.MultipartUpload.Parts, s3types.CompletedPart{PartNumber: aws.Int32(p.n), ETag: p.etag, ChecksumSHA256: p.sum})
	}
	return in
}
