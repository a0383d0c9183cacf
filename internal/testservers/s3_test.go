package testservers

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func s3Do(t *testing.T, s *S3Server, method, path string, body []byte, secret string) (int, string) {
	t.Helper()
	code, resp, err := s.do(method, path, body, secret)
	if err != nil {
		t.Fatal(err)
	}
	return code, resp
}

func TestStartS3(t *testing.T) {
	s := StartS3(t)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") || s.AccessKey == "" || s.SecretKey == "" || s.Region == "" {
		t.Fatalf("server: %+v", s)
	}
	s.CreateBucket(t, "bucket-one")

	// A signed PUT and GET through the S3 API land in the posix backend.
	if code, body := s3Do(t, s, http.MethodPut, "/bucket-one/dir/hello.txt", []byte("hello"), s.SecretKey); code != http.StatusOK {
		t.Fatalf("PUT object: %d %s", code, body)
	}
	if b, err := os.ReadFile(filepath.Join(s.Dir, "bucket-one", "dir", "hello.txt")); err != nil || string(b) != "hello" {
		t.Errorf("object in the backend: %q, %v", b, err)
	}
	if code, body := s3Do(t, s, http.MethodGet, "/bucket-one/dir/hello.txt", nil, s.SecretKey); code != http.StatusOK || body != "hello" {
		t.Errorf("GET object: %d %q", code, body)
	}
	if code, body := s3Do(t, s, http.MethodGet, "/bucket-one", nil, s.SecretKey); code != http.StatusOK || !strings.Contains(body, "<Key>dir/hello.txt</Key>") {
		t.Errorf("list bucket: %d %s", code, body)
	}
	// Credentials are checked.
	if code, _ := s3Do(t, s, http.MethodGet, "/bucket-one/dir/hello.txt", nil, ""); code != http.StatusForbidden {
		t.Errorf("unsigned GET: %d, want 403", code)
	}
	if code, body := s3Do(t, s, http.MethodGet, "/bucket-one", nil, "wrong-secret"); code != http.StatusForbidden || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Errorf("GET with a wrong secret: %d %s, want 403 SignatureDoesNotMatch", code, body)
	}
	if code, body := s3Do(t, s, http.MethodGet, "/no-such-bucket", nil, s.SecretKey); code != http.StatusNotFound || !strings.Contains(body, "NoSuchBucket") {
		t.Errorf("missing bucket: %d %s", code, body)
	}

	// The bucket is a real one: creating it again says it is ours.
	if code, body := s3Do(t, s, http.MethodPut, "/bucket-one", nil, s.SecretKey); code != http.StatusConflict || !strings.Contains(body, "BucketAlreadyOwnedByYou") {
		t.Errorf("CreateBucket again: %d %s, want 409 BucketAlreadyOwnedByYou", code, body)
	}

	env := s.Env()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL_S3"} {
		if env[k] == "" {
			t.Errorf("Env()[%s] is empty", k)
		}
	}
}

func TestStartS3Twice(t *testing.T) {
	a, b := StartS3(t), StartS3(t)
	if a.Endpoint == b.Endpoint || a.Dir == b.Dir {
		t.Errorf("two servers share %s / %s", a.Endpoint, a.Dir)
	}
}
