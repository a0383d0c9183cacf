package s3store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// newHeadCounter starts a reverse proxy on loopback in front of the S3
// server at endpoint that counts the HEAD and the listing requests through
// it.
func newHeadCounter(t *testing.T, endpoint string, heads, lists *atomic.Int64) string {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodHead:
			heads.Add(1)
		case r.URL.Query().Get("list-type") == "2":
			lists.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// StatBatch answers for the objects this process has just put from their
// folder's listing (no HEAD each), with the digest their PUT had verified
// and the version Stat gives; an object written again since by someone
// else is asked about with a HEAD, and its digest is not the one put.
func TestStatBatchListsWhatItPut(t *testing.T) {
	f := newFixture(t, nil)
	var heads, lists atomic.Int64
	endpoint := newHeadCounter(t, f.srv.Endpoint, &heads, &lists)
	s, err := New(WithGetenv(func(k string) string { return map[string]string{EnvEndpoint: endpoint}[k] }))
	if err != nil {
		t.Fatal(err)
	}
	s.listPage = 5 // three pages for twelve objects
	ctx := t.Context()
	dir := t.TempDir()
	const n = 12
	var items []storage.StatRequest
	sums := make([]string, n)
	for i := range n {
		p, sum := randomFile(t, dir, fmt.Sprintf("f%02d", i), 100+int64(i), uint64(i))
		u := fmt.Sprintf("s3://%s/app/f%02d", testBucket, i)
		sums[i] = "sha256:" + hex.EncodeToString(sum[:])
		if _, err := s.Put(ctx, &storage.PutRequest{SourcePath: p, URL: u, Digest: sums[i]}); err != nil {
			t.Fatal(err)
		}
		items = append(items, storage.StatRequest{URL: u})
	}
	f.putRaw(t, "app/other", []byte("put by another client"))
	items = append(items, storage.StatRequest{URL: "s3://" + testBucket + "/app/other"}, storage.StatRequest{URL: "s3://" + testBucket + "/app/missing"})

	heads.Store(0)
	out, err := s.StatBatch(ctx, &storage.StatBatchRequest{Items: items})
	if err != nil {
		t.Fatal(err)
	}
	if got := heads.Load(); got != 3 {
		t.Errorf("StatBatch sent %d HEADs, want 3 (the first object, where the listing starts; the object another client put; the missing one)", got)
	}
	for i := range n {
		r := out.Results[i]
		if r.Err != nil {
			t.Fatalf("%s: %v", items[i].URL, r.Err)
		}
		st, err := s.Stat(ctx, &items[i])
		if err != nil {
			t.Fatal(err)
		}
		if r.Stat.ContentDigest != sums[i] || r.Stat.Size != 100+int64(i) || r.Stat.Version == "" || r.Stat.Version != st.Version {
			t.Errorf("%s: %+v, want digest %s, size %d and Stat's version %q", items[i].URL, r.Stat, sums[i], 100+i, st.Version)
		}
	}
	if r := out.Results[n]; r.Err != nil || r.Stat.ContentDigest != "" {
		t.Errorf("the object another client put without a checksum: %+v, %v; want no digest", r.Stat, r.Err)
	}
	if r := out.Results[n+1]; !errors.Is(r.Err, fs.ErrNotExist) {
		t.Errorf("the missing object: %v, want fs.ErrNotExist", r.Err)
	}

	// Another client writes f03 again: same size, other bytes.
	f.putRaw(t, "app/f03", make([]byte, 103))
	heads.Store(0)
	out, err = s.StatBatch(ctx, &storage.StatBatchRequest{Items: items[:n]})
	if err != nil {
		t.Fatal(err)
	}
	if r := out.Results[3]; r.Err != nil || r.Stat.ContentDigest == sums[3] {
		t.Errorf("f03 written again by another client: %+v, %v; want it asked about, without the digest put", r.Stat, r.Err)
	}
	if got := heads.Load(); got != 2 {
		t.Errorf("StatBatch sent %d HEADs after f03 changed, want 2 (f00, f03)", got)
	}

	// A batch of the folder's last objects lists from its own first one.
	heads.Store(0)
	lists.Store(0)
	if _, err := s.StatBatch(ctx, &storage.StatBatchRequest{Items: items[n-minListed : n]}); err != nil {
		t.Fatal(err)
	}
	if h, l := heads.Load(), lists.Load(); h != 1 || l != 2 {
		t.Errorf("a batch of the last %d objects sent %d HEADs and %d listings, want 1 and 2 (7 objects after the first, 5 a page)", minListed, h, l)
	}
}
