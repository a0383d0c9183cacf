package s3store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// TestConformance runs the SDK's storage suite against a bucket prefix of a
// real versitygw, through the same gRPC code the plugin binary uses. The
// endpoint comes from AWS_ENDPOINT_URL_S3, as the AWS SDK reads it.
func TestConformance(t *testing.T) {
	f := newFixture(t, nil)
	conn := sdktest.Serve(t, plugin.WithName("s3"), plugin.WithStorage("s3", f.store))
	sdktest.Storage(t, conn.Storage(), "s3://"+testBucket+"/conformance/")
}

func TestMissing(t *testing.T) {
	f := newFixture(t, nil)
	src, _ := randomFile(t, t.TempDir(), "obj", 10, 1)
	if _, err := f.store.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: "s3://" + testBucket + "/present/obj"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"s3://no-such-bucket/key",
		"s3://no-such-bucket/",
		"s3://" + testBucket + "/missing-key",
		"s3://" + testBucket + "/missing-prefix/",
		"s3://" + testBucket + "/present/ob", // a prefix of a key, not a key
		"s3://" + testBucket + "/present/obj/below",
	} {
		if _, err := f.store.Stat(t.Context(), &storage.StatRequest{URL: u}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat %s: %v, want fs.ErrNotExist", u, err)
		}
		dest := filepath.Join(t.TempDir(), "dest")
		_, err := f.store.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest})
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get %s: %v, want fs.ErrNotExist", u, err)
		} else if !strings.Contains(err.Error(), u) {
			t.Errorf("Get %s: the error does not name the URL: %v", u, err)
		}
		if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get %s left %s behind", u, dest)
		}
	}
	if _, err := f.store.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: "s3://no-such-bucket/key"}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Put to a missing bucket: %v, want fs.ErrNotExist", err)
	}
}

func TestAccessDenied(t *testing.T) {
	f := newFixture(t, nil)
	src, _ := randomFile(t, t.TempDir(), "obj", 10, 1)
	u := "s3://" + testBucket + "/obj"
	if _, err := f.store.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: u}); err != nil {
		t.Fatal(err)
	}
	const wrongSecret = "not-the-secret-f00dcafe"
	for name, env := range map[string]map[string]string{
		"wrong secret key": {"AWS_SECRET_ACCESS_KEY": wrongSecret},
		"unknown key id":   {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN0000000", "AWS_SECRET_ACCESS_KEY": wrongSecret},
		"no credentials":   {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range env {
				t.Setenv(k, v)
			}
			store, err := New()
			if err != nil {
				t.Fatal(err)
			}
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, fs.ErrPermission) {
					t.Errorf("%s: %v, want fs.ErrPermission", op, err)
				} else if strings.Contains(err.Error(), wrongSecret) || strings.Contains(err.Error(), f.srv.SecretKey) {
					t.Errorf("%s: the error shows a secret: %v", op, err)
				}
			}
			_, err = store.Stat(t.Context(), &storage.StatRequest{URL: u})
			check("Stat", err)
			_, err = store.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: filepath.Join(t.TempDir(), "d")})
			check("Get", err)
			_, err = store.Get(t.Context(), &storage.GetRequest{URL: "s3://" + testBucket + "/", DestPath: filepath.Join(t.TempDir(), "d")})
			check("Get of a tree", err)
			_, err = store.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: u})
			check("Put", err)
		})
	}
}

// TestAnonymous checks MMBUILD_S3_ANONYMOUS sends unsigned requests, which
// this server (without public buckets) refuses.
func TestAnonymous(t *testing.T) {
	f := newFixture(t, map[string]string{EnvAnonymous: "true"})
	_, err := f.store.Stat(t.Context(), &storage.StatRequest{URL: "s3://" + testBucket + "/x"})
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("anonymous Stat: %v, want fs.ErrPermission", err)
	}
}

// TestMMBuildEndpoint reaches the server through MMBUILD_S3_ENDPOINT and
// MMBUILD_S3_REGION alone, the AWS endpoint variable pointing nowhere.
func TestMMBuildEndpoint(t *testing.T) {
	f := newFixture(t, nil)
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
	t.Setenv("AWS_REGION", "")
	store, err := New(WithGetenv(func(k string) string {
		return map[string]string{EnvEndpoint: f.srv.Endpoint, EnvRegion: f.srv.Region}[k]
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Stat(t.Context(), &storage.StatRequest{URL: "s3://" + testBucket + "/"}); err != nil {
		t.Errorf("Stat of the bucket through %s: %v", EnvEndpoint, err)
	}
	bad, _ := New(WithGetenv(func(k string) string { return map[string]string{EnvPathStyle: "sometimes"}[k] }))
	if _, err := bad.Stat(t.Context(), &storage.StatRequest{URL: "s3://" + testBucket + "/"}); err == nil || !strings.Contains(err.Error(), EnvPathStyle) {
		t.Errorf("a bad %s: %v", EnvPathStyle, err)
	}
}

func TestOptionsRefused(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Stat(t.Context(), &storage.StatRequest{URL: "s3://bucket/key", Options: map[string]string{"region": "x"}})
	if err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("Stat with an unknown option: %v", err)
	}
}

// TestLargeRoundTrip moves 100 MiB through a multipart upload and a ranged,
// parallel download, and checks the bytes and the server's checksum.
func TestLargeRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 100 MiB; skipped with -short")
	}
	f := newFixture(t, nil)
	const size = 100 << 20
	src, sum := randomFile(t, t.TempDir(), "big.bin", size, 42)
	if err := os.Chmod(src, 0o755); err != nil {
		t.Fatal(err)
	}
	u := "s3://" + testBucket + "/large/big.bin"
	var puts atomic.Int64
	resp, err := f.store.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: u, Progress: func(p storage.Progress) { puts.Add(1) }})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if resp.Bytes != size || resp.Files != 1 || puts.Load() == 0 {
		t.Errorf("Put response %+v, %d progress reports", resp, puts.Load())
	}
	head, err := f.sdk.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String("large/big.bin"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if c := aws.ToString(head.ChecksumSHA256); !strings.HasSuffix(c, "-7") {
		t.Errorf("server checksum %q, want a composite SHA-256 of 7 parts of 16 MiB", c)
	}
	st, err := f.store.Stat(t.Context(), &storage.StatRequest{URL: u})
	if err != nil || st.Size != size || st.IsDir {
		t.Fatalf("Stat: %+v, %v", st, err)
	}
	dest := filepath.Join(t.TempDir(), "dest")
	got, err := f.store.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Bytes != size || got.Files != 1 || got.IsDir {
		t.Errorf("Get response %+v", got)
	}
	if fileSHA256(t, dest) != sum {
		t.Error("the downloaded file differs from the upload")
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("mode %v lost the executable bit", fi.Mode())
	}
}

// TestTree uploads nested files, with one large enough for multipart and
// ranged transfers, and gets them back by prefix; directory markers are
// skipped.
func TestTree(t *testing.T) {
	f := newFixture(t, nil, WithPartSize(5<<20))
	root := filepath.Join(t.TempDir(), "tree")
	want := map[string][32]byte{}
	for i, rel := range []string{"a.txt", "bin/tool", "deep/er/still/file.md", "deep/big.bin", "deep/empty"} {
		size := int64(1000 * i)
		if rel == "deep/big.bin" {
			size = 12<<20 + 7
		}
		_, want[rel] = randomFile(t, root, filepath.FromSlash(rel), size, uint64(i))
	}
	if err := os.Chmod(filepath.Join(root, "bin", "tool"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A symlink to a file inside the tree is uploaded as that file.
	if err := os.Symlink("../a.txt", filepath.Join(root, "bin", "link")); err != nil {
		t.Fatal(err)
	}
	want["bin/link"] = want["a.txt"]

	u := "s3://" + testBucket + "/trees/one"
	resp, err := f.store.Put(t.Context(), &storage.PutRequest{SourcePath: root, URL: u})
	if err != nil {
		t.Fatalf("Put of a tree: %v", err)
	}
	if resp.Files != int64(len(want)) || !resp.IsDir {
		t.Errorf("Put response %+v", resp)
	}
	f.putRaw(t, "trees/one/", nil)             // a marker for the tree itself
	f.putRaw(t, "trees/one/marker-only/", nil) // a folder marker: no folder to create

	for _, url := range []string{u, u + "/"} {
		st, err := f.store.Stat(t.Context(), &storage.StatRequest{URL: url})
		if err != nil || !st.IsDir || st.Size != resp.Bytes {
			t.Errorf("Stat %s: %+v, %v, want a tree of %d bytes", url, st, err, resp.Bytes)
		}
		dest := filepath.Join(t.TempDir(), "dest")
		got, err := f.store.Get(t.Context(), &storage.GetRequest{URL: url, DestPath: dest})
		if err != nil {
			t.Fatalf("Get %s: %v", url, err)
		}
		if got.Files != int64(len(want)) || got.Bytes != resp.Bytes || !got.IsDir {
			t.Errorf("Get response %+v", got)
		}
		var files []string
		for _, rel := range entries(t, dest) {
			p := filepath.Join(dest, rel)
			fi, _ := os.Lstat(p)
			if fi.IsDir() {
				continue
			}
			files = append(files, filepath.ToSlash(rel))
			if sum, ok := want[filepath.ToSlash(rel)]; !ok || fileSHA256(t, p) != sum {
				t.Errorf("%s: unexpected or different", rel)
			}
		}
		if len(files) != len(want) {
			t.Errorf("Get wrote %q, want %d files", files, len(want))
		}
		if fi, err := os.Stat(filepath.Join(dest, "bin", "tool")); err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("bin/tool lost its executable bit: %v %v", fi.Mode(), err)
		}
		if _, err := os.Stat(filepath.Join(dest, "marker-only")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a directory marker became a folder: %v", err)
		}
	}

	// A tree cannot replace an object, nor hide behind one.
	src, _ := randomFile(t, t.TempDir(), "x", 10, 9)
	if _, err := f.store.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: "s3://" + testBucket + "/trees/file"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Put(t.Context(), &storage.PutRequest{SourcePath: root, URL: "s3://" + testBucket + "/trees/file"}); err == nil {
		t.Error("Put of a tree over an object succeeded")
	}
	// A file needs a key, not a prefix.
	if _, err := f.store.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: "s3://" + testBucket + "/trees/"}); !errors.Is(err, storage.ErrInvalidURL) {
		t.Errorf("Put of a file to a prefix: %v, want storage.ErrInvalidURL", err)
	}
}

func TestPutTreeRefusesLinksOut(t *testing.T) {
	f := newFixture(t, nil)
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"absolute": outside, "relative": "../../" + filepath.Base(filepath.Dir(outside)) + "/secret", "dangling": "/nonexistent/x"} {
		root := filepath.Join(t.TempDir(), "tree")
		randomFile(t, root, "ok.txt", 10, 1)
		if err := os.Symlink(target, filepath.Join(root, "link")); err != nil {
			t.Fatal(err)
		}
		_, err := f.store.Put(t.Context(), &storage.PutRequest{SourcePath: root, URL: "s3://" + testBucket + "/links-" + name + "/"})
		if !errors.Is(err, storage.ErrUnsafePath) {
			t.Errorf("%s link out: %v, want storage.ErrUnsafePath", name, err)
		}
	}
	if out, err := f.sdk.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)}); err != nil || len(out.Contents) != 0 {
		t.Errorf("refused Puts stored objects: %v", err)
	}
}

// TestInterruptedPut cancels a multipart upload half-way: no object may
// appear at the destination, and the upload is aborted.
func TestInterruptedPut(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 64 MiB; skipped with -short")
	}
	f := newFixture(t, nil)
	src, _ := randomFile(t, t.TempDir(), "big.bin", 64<<20, 7)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var done atomic.Int64
	_, err := f.store.Put(ctx, &storage.PutRequest{SourcePath: src, URL: "s3://" + testBucket + "/interrupted/big.bin",
		Progress: func(p storage.Progress) {
			done.Store(p.DoneBytes)
			if p.DoneBytes > 20<<20 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Put: %v, want context.Canceled", err)
	}
	if done.Load() >= 64<<20 {
		t.Fatalf("the whole file went before the cancel")
	}
	_, err = f.sdk.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String("interrupted/big.bin")})
	if err == nil {
		t.Error("an interrupted Put left an object at the destination")
	}
	ups, err := f.sdk.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(testBucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Errorf("%d multipart uploads left open, want them aborted", len(ups.Uploads))
	}
	if _, err := os.Stat(filepath.Join(f.srv.Dir, testBucket, "interrupted", "big.bin")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the backend holds a file for the interrupted object: %v", err)
	}
}

// TestHostileKeys gets a prefix whose listing holds a key that would land
// outside DestPath: the whole Get is refused and nothing is written.
func TestHostileKeys(t *testing.T) {
	f := newFixture(t, nil)
	// versitygw stores a key with backslashes as one file name: harmless on
	// Unix, a path escape on Windows.
	f.putRaw(t, "hostile/ok.txt", []byte("fine"))
	f.putRaw(t, `hostile/a\..\..\evil`, []byte("evil"))

	// versitygw refuses to store "a/../../evil" (it resolves keys as paths),
	// so this listing comes through a proxy in front of it that rewrites one
	// key, as a hostile or broken server could.
	proxy := newListRewriter(t, f.srv.Endpoint, "hostile2/zz-evil", "hostile2/a/../../evil")
	f.putRaw(t, "hostile2/ok.txt", []byte("fine"))
	f.putRaw(t, "hostile2/zz-evil", []byte("evil"))
	viaProxy, err := New(WithGetenv(func(k string) string { return map[string]string{EnvEndpoint: proxy}[k] }))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		store *Store
		url   string
	}{
		{f.store, "s3://" + testBucket + "/hostile/"},
		{viaProxy, "s3://" + testBucket + "/hostile2/"},
		{viaProxy, "s3://" + testBucket + "/hostile2"},
	} {
		parent := t.TempDir()
		dest := filepath.Join(parent, "inner", "dest")
		if err := os.Mkdir(filepath.Dir(dest), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := tc.store.Get(t.Context(), &storage.GetRequest{URL: tc.url, DestPath: dest})
		if !errors.Is(err, storage.ErrUnsafePath) {
			t.Errorf("Get %s: %v, want storage.ErrUnsafePath", tc.url, err)
		}
		if got := entries(t, parent); len(got) != 1 || got[0] != "inner" {
			t.Errorf("Get %s wrote %q", tc.url, got)
		}
	}
}
