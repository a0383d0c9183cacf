package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/storeindex"
	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// A cache hit in S3 checks its objects by listing their folder against the
// store index the publishing run left beside its attestation: a request a
// page, not one per object. An object written again since (same size,
// other bytes) is asked about on its own and found out; an index that does
// not read only costs time.
func TestS3CacheHitByListing(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	s3 := testservers.StartS3(t)
	s3.CreateBucket(t, "shared")
	in.Env = append(in.Env, "AWS_ACCESS_KEY_ID="+s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3.SecretKey,
		"AWS_REGION="+s3.Region, "MMBUILD_S3_ENDPOINT="+s3.Endpoint, "MMBUILD_LOG_LEVEL=debug")
	dir := engineProject(t, map[string]string{
		"Makefile": "all:\n\t@mkdir -p dist\n\t@printf 'one\\n' > dist/a.txt\n\t@printf 'two\\n' > dist/b.txt\n\t@printf 'six\\n' > dist/c.txt\n\t@echo ran >> builder-ran\n",
		"mmbuild.yaml": "handler: {id: make, params: [all]}\n" +
			"artifacts: {files: ['dist/*.txt'], destination: 's3://shared/app/'}\nprovenance: out/\n",
	})
	engineMustRun(t, in, dir, "plugins", "lock")
	writeFiles(t, dir, map[string]string{".gitignore": "dist/\nout/\nbuild.env\nbuilder-ran\n"})
	engineCommitAll(t, dir, "app")
	ran := func() int { return engineLines(t, filepath.Join(dir, "builder-ran")) }

	first, _ := engineRunJSON(t, in, dir)
	key := strings.TrimPrefix(first.StagingURL, "s3://shared/")
	indexPath := filepath.Join(s3.Dir, "shared", filepath.FromSlash(key), storeindex.Name)
	ix, err := storeindex.Read(indexPath)
	if err != nil {
		t.Fatalf("the store index beside the attestation: %v", err)
	}
	var names []string
	for _, o := range ix.Objects {
		names = append(names, o.Name)
		if o.At != "artifacts.destination" || o.Version == "" {
			t.Errorf("index object %+v: want the destination's, with a version", o)
		}
	}
	if !slices.Equal(names, []string{"a.txt", "b.txt", "c.txt"}) {
		t.Errorf("the index names %q, want the three artifacts", names)
	}

	hit, r := engineRunJSON(t, in, dir)
	if !hit.Cached || ran() != 1 {
		t.Fatalf("second run: cached %v, builder ran %d times\n%s", hit.Cached, ran(), r.Stderr)
	}
	if !strings.Contains(r.Stderr, "checked by listing: objects=3 of=3") {
		t.Errorf("the cache hit did not check its objects by listing:\n%s", r.Stderr)
	}

	// Another client writes b.txt again: same size, other bytes.
	s3.PutObject(t, "shared", key+"/b.txt", []byte("TWO\n"))
	miss, r := engineRunJSON(t, in, dir)
	if miss.Cached || ran() != 2 {
		t.Fatalf("after b.txt was written again: cached %v, builder ran %d times\n%s", miss.Cached, ran(), r.Stderr)
	}
	if !strings.Contains(r.Stderr, "checked by listing: objects=2 of=3") || !strings.Contains(r.Stderr, "does not match its attestation") {
		t.Errorf("the rewritten b.txt was not asked about on its own and found out:\n%s", r.Stderr)
	}

	// An index that does not read: a warning, and a hit checked object by object.
	s3.PutObject(t, "shared", key+"/"+storeindex.Name, []byte("{not an index"))
	hit, r = engineRunJSON(t, in, dir)
	if !hit.Cached || ran() != 2 {
		t.Fatalf("with a broken index: cached %v, builder ran %d times\n%s", hit.Cached, ran(), r.Stderr)
	}
	if !strings.Contains(r.Stderr, "ignoring the store index") || strings.Contains(r.Stderr, "checked by listing") {
		t.Errorf("a broken index was not ignored with a warning:\n%s", r.Stderr)
	}
}
