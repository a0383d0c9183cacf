package s3store

import (
	"errors"
	"hash/crc64"
	"io/fs"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, bucket, key string
		prefix           bool
	}{
		{"s3://bucket/key", "bucket", "key", false},
		{"s3://my.bucket-1/a/b/c.tar.gz", "my.bucket-1", "a/b/c.tar.gz", false},
		{"s3://bucket/dir/", "bucket", "dir/", true},
		{"s3://bucket/", "bucket", "", true},
		{"s3://bucket", "bucket", "", true},
		{"S3://bucket/k", "bucket", "k", false},
		{"s3://bucket/with%20space/%3Fq%23f", "bucket", "with space/?q#f", false},
		{"s3://bucket/a..b/...", "bucket", "a..b/...", false},
	} {
		loc, err := parseURL(tc.url)
		if err != nil {
			t.Errorf("parseURL(%q): %v", tc.url, err)
			continue
		}
		if loc.bucket != tc.bucket || loc.key != tc.key || loc.isPrefix() != tc.prefix {
			t.Errorf("parseURL(%q) = %+v prefix=%v, want bucket %q key %q prefix=%v", tc.url, loc, loc.isPrefix(), tc.bucket, tc.key, tc.prefix)
		}
	}
}

func TestParseURLRefuses(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want error
	}{
		{"", storage.ErrInvalidURL},
		{"bucket/key", storage.ErrInvalidURL},
		{"file:///tmp/x", storage.ErrInvalidURL},
		{"https://bucket.s3.amazonaws.com/key", storage.ErrInvalidURL},
		{"s3:bucket/key", storage.ErrInvalidURL},
		{"s3:///key", storage.ErrInvalidURL},
		{"s3://AKIAEXAMPLE:supersecret@bucket/key", storage.ErrInvalidURL},
		{"s3://token@bucket/key", storage.ErrInvalidURL},
		{"s3://bucket:9000/key", storage.ErrInvalidURL},
		{"s3://bucket/key?versionId=1", storage.ErrInvalidURL},
		{"s3://bucket/key?", storage.ErrInvalidURL},
		{"s3://bucket/key#frag", storage.ErrInvalidURL},
		{"s3://Bucket/key", storage.ErrInvalidURL},
		{"s3://my_bucket/key", storage.ErrInvalidURL},
		{"s3://ab/key", storage.ErrInvalidURL},
		{"s3://" + strings.Repeat("a", 64) + "/key", storage.ErrInvalidURL},
		{"s3://-bucket/key", storage.ErrInvalidURL},
		{"s3://bucket-/key", storage.ErrInvalidURL},
		{"s3://my..bucket/key", storage.ErrInvalidURL},
		{"s3://192.168.1.1/key", storage.ErrInvalidURL},
		{"s3://bad%zz-host/key", storage.ErrInvalidURL},
		{"s3://bucket/bad%zz", storage.ErrInvalidURL},
		{"s3://bucket/control\ncharacter", storage.ErrInvalidURL},
		{"s3://bucket/a%0Ab", storage.ErrInvalidURL},
		{"s3://bucket/a%00b", storage.ErrInvalidURL},
		{"s3://bucket/a//b", storage.ErrInvalidURL},
		{"s3://bucket//abs", storage.ErrInvalidURL},
		{"s3://bucket/" + strings.Repeat("k", 1025), storage.ErrInvalidURL},
		{"s3://bucket/a/../b", storage.ErrUnsafePath},
		{"s3://bucket/..", storage.ErrUnsafePath},
		{"s3://bucket/a/%2E%2E/b", storage.ErrUnsafePath},
		{"s3://bucket/./a", storage.ErrUnsafePath},
	} {
		_, err := parseURL(tc.url)
		if !errors.Is(err, tc.want) {
			t.Errorf("parseURL(%q) = %v, want %v", tc.url, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "supersecret") || strings.Contains(err.Error(), "AKIAEXAMPLE") || strings.Contains(err.Error(), "token@")) {
			t.Errorf("parseURL(%q): the error shows the credentials: %v", tc.url, err)
		}
	}
}

func TestPlanTree(t *testing.T) {
	objs := []objectInfo{{key: "p/b/c/d.txt"}, {key: "p/a.txt"}, {key: "p/b/e"}}
	entries, dirs, err := planTree("s3://x/p/", "p/", objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || strings.Join(dirs, ",") != "b,b/c" {
		t.Errorf("planTree: %v entries, dirs %q", len(entries), dirs)
	}
	// A key that is also the folder of others cannot be laid out.
	if _, _, err := planTree("s3://x/p/", "p/", []objectInfo{{key: "p/a"}, {key: "p/a/b"}}); err == nil {
		t.Error("planTree accepted an object that is also a folder")
	}
	if _, _, err := planTree("s3://x/p/", "p/", []objectInfo{{key: "p/ok"}, {key: "p/../../evil"}}); !errors.Is(err, storage.ErrUnsafePath) {
		t.Errorf("planTree with a hostile key: %v, want storage.ErrUnsafePath", err)
	}
}

func TestChecksums(t *testing.T) {
	// CRC-64/NVME check value.
	if got := crc64.Checksum([]byte("123456789"), crc64NVME()); got != 0xae8b14860a799888 {
		t.Errorf("CRC-64/NVME check = %#x", got)
	}
	c := checksumOf(types.ChecksumTypeComposite, aws.String("abc=-3"), nil, nil, nil, nil)
	if c != (checksum{algo: "SHA256", value: "abc=", parts: 3}) {
		t.Errorf("composite: %+v", c)
	}
	c = checksumOf(types.ChecksumTypeFullObject, nil, nil, aws.String("crc="), nil, aws.String("nvme="))
	if c != (checksum{algo: "CRC64NVME", value: "nvme="}) {
		t.Errorf("full object: %+v", c)
	}
	if c := checksumOf(types.ChecksumTypeComposite, aws.String("abc="), nil, nil, nil, nil); c.algo != "" {
		t.Errorf("composite without a part count: %+v", c)
	}
	if c := checksumOf("", nil, nil, nil, nil, nil); c.algo != "" || c.newHash() != nil {
		t.Errorf("no checksum: %+v", c)
	}
}

func TestModeMetadata(t *testing.T) {
	for _, tc := range []struct {
		md   map[string]string
		want fs.FileMode
	}{
		{metadataFor(0o755), 0o755},
		{metadataFor(0o644), 0o644},
		{map[string]string{"Mode": "750"}, 0o750},
		{map[string]string{"mode": "4755"}, 0o755}, // no setuid
		{map[string]string{"mode": "rwx"}, 0o644},
		{nil, 0o644},
	} {
		if got := modeFromMetadata(tc.md); got != tc.want {
			t.Errorf("modeFromMetadata(%v) = %v, want %v", tc.md, got, tc.want)
		}
	}
}

func TestSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := readSettings(env(map[string]string{EnvEndpoint: "http://127.0.0.1:9000", EnvRegion: "eu-west-3", EnvPathStyle: "false", EnvAnonymous: "true"}))
	if err != nil || s.endpoint != "http://127.0.0.1:9000" || s.region != "eu-west-3" || s.pathStyle == nil || *s.pathStyle || !s.anonymous {
		t.Errorf("readSettings: %+v, %v", s, err)
	}
	for _, bad := range []map[string]string{
		{EnvPathStyle: "maybe"},
		{EnvAnonymous: "yes please"},
		{EnvEndpoint: "127.0.0.1:9000"},
		{EnvEndpoint: "ftp://host"},
		{EnvEndpoint: "https://user:secret@host"},
	} {
		_, err := readSettings(env(bad))
		if err == nil {
			t.Errorf("readSettings(%v) accepted it", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("readSettings error shows a credential: %v", err)
		}
	}
	for endpoint, want := range map[string]bool{
		"http://127.0.0.1:7070": true, "http://[::1]:7070": true, "http://localhost:9000": true,
		"https://minio.localhost": true, "https://s3.eu-west-1.amazonaws.com": false, "": false,
	} {
		if got := pathStyleFor(endpoint); got != want {
			t.Errorf("pathStyleFor(%q) = %v, want %v", endpoint, got, want)
		}
	}
}

func TestOptions(t *testing.T) {
	if _, err := New(WithPartSize(1 << 20)); err == nil {
		t.Error("New accepted a 1 MiB part size")
	}
	if _, err := New(WithConcurrency(0)); err == nil {
		t.Error("New accepted concurrency 0")
	}
	s, err := New(WithPartSize(5 << 20))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.partSizeFor(1 << 30); got != 5<<20 {
		t.Errorf("part size for 1 GiB: %d", got)
	}
	if got := s.partSizeFor(5 << 40); got*maxParts < 5<<40 || got%(1<<20) != 0 {
		t.Errorf("part size for 5 TiB: %d does not fit in %d parts", got, maxParts)
	}
}
