package s3store

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mmbuild/mmbuild/internal/testservers"
)

const testBucket = "test-bucket"

// fixture is a real S3 server with one bucket, a Store reaching it through
// the standard AWS environment, and a plain SDK client to look behind the
// Store's back.
type fixture struct {
	srv   *testservers.S3Server
	store *Store
	sdk   *s3.Client
}

// newFixture starts versitygw and sets the process environment to reach it
// (so tests using it cannot run in parallel). mmbuildEnv holds MMBUILD_S3_*
// settings.
func newFixture(t *testing.T, mmbuildEnv map[string]string, opts ...Option) *fixture {
	t.Helper()
	srv := testservers.StartS3(t)
	srv.SetEnv(t)
	srv.CreateBucket(t, testBucket)
	getenv := func(k string) string { return mmbuildEnv[k] }
	store, err := New(append([]Option{WithGetenv(getenv)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, store: store, sdk: sdkClient(srv, srv.SecretKey)}
}

func sdkClient(srv *testservers.S3Server, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:       srv.Region,
		BaseEndpoint: aws.String(srv.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(srv.AccessKey, secret, ""),
	})
}

// putRaw stores an object with the SDK directly.
func (f *fixture) putRaw(t *testing.T, key string, data []byte) {
	t.Helper()
	_, err := f.sdk.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("PutObject %q: %v", key, err)
	}
}

// randomFile writes size pseudo-random bytes to a new file in dir and
// returns its path and SHA-256.
func randomFile(t *testing.T, dir, name string, size int64, seed uint64) (string, [32]byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	src := io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), size)
	if _, err := io.Copy(io.MultiWriter(f, h), src); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return p, sum
}

func fileSHA256(t *testing.T, p string) [32]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// entries lists what lies in dir, recursively, as relative paths.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}
