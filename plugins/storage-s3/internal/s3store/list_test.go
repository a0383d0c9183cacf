package s3store

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// List pages through a folder's files in name order, leaves out what lies
// deeper, gives each the version Stat gives it, and a rewritten object
// another version.
func TestList(t *testing.T) {
	f := newFixture(t, nil)
	f.store.listPage = 2
	ctx := t.Context()
	names := []string{"a.bin", "b.bin", "c.bin", "d.bin", "e.bin"}
	for i, n := range names {
		f.putRaw(t, "app/"+n, bytes.Repeat([]byte{byte(i)}, 10+i))
	}
	f.putRaw(t, "app/sub/deeper.bin", []byte("deeper"))
	f.putRaw(t, "app/ab/x", []byte("a sub-folder between files"))
	f.putRaw(t, "apples", []byte("a neighbour of the prefix"))

	list := func(url string) []storage.ListEntry {
		t.Helper()
		var all []storage.ListEntry
		after := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("List never stops")
			}
			resp, err := f.store.List(ctx, &storage.ListRequest{URL: url, StartAfter: after})
			if err != nil {
				t.Fatalf("List %s after %q: %v", url, after, err)
			}
			if resp.Truncated && len(resp.Entries) == 0 {
				t.Fatalf("List %s after %q: an empty page that says more follow", url, after)
			}
			all = append(all, resp.Entries...)
			if !resp.Truncated {
				return all
			}
			after = resp.Entries[len(resp.Entries)-1].Name
		}
	}
	for _, url := range []string{"s3://" + testBucket + "/app", "s3://" + testBucket + "/app/"} {
		got := list(url)
		var gotNames []string
		for _, e := range got {
			gotNames = append(gotNames, e.Name)
		}
		if !slices.Equal(gotNames, names) {
			t.Fatalf("List %s: %q, want %q", url, gotNames, names)
		}
		for i, e := range got {
			st, err := f.store.Stat(ctx, &storage.StatRequest{URL: "s3://" + testBucket + "/app/" + e.Name})
			if err != nil {
				t.Fatal(err)
			}
			if e.Version == "" || e.Version != st.Version || e.Size != int64(10+i) || e.Size != st.Size {
				t.Errorf("%s: listed version %q size %d, Stat gives %q %d", e.Name, e.Version, e.Size, st.Version, st.Size)
			}
		}
	}

	before := list("s3://" + testBucket + "/app/")[1]
	f.putRaw(t, "app/b.bin", bytes.Repeat([]byte{9}, 11)) // same size, other bytes
	if after := list("s3://" + testBucket + "/app/")[1]; after.Version == before.Version {
		t.Errorf("b.bin rewritten with other bytes keeps its version %q", after.Version)
	}

	if got := list("s3://" + testBucket + "/none/"); len(got) != 0 {
		t.Errorf("List of a folder that does not exist: %v, want nothing", got)
	}
	if _, err := f.store.List(ctx, &storage.ListRequest{URL: "s3://" + testBucket + "/app/", StartAfter: "sub/x"}); !errors.Is(err, storage.ErrInvalidURL) {
		t.Errorf("List after a path: %v, want ErrInvalidURL", err)
	}
}

// A folder whose first pages hold only sub-folders still gives a page
// with a file, or the end: never an empty page that says more follow.
func TestListSkipsPagesOfFolders(t *testing.T) {
	f := newFixture(t, nil)
	f.store.listPage = 2
	for _, k := range []string{"app/a/1", "app/b/1", "app/c/1", "app/d/1", "app/z.bin"} {
		f.putRaw(t, k, []byte(k))
	}
	resp, err := f.store.List(t.Context(), &storage.ListRequest{URL: "s3://" + testBucket + "/app/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Entries) != 1 || resp.Entries[0].Name != "z.bin" || resp.Truncated {
		t.Errorf("List: %+v, want z.bin alone and the end", resp)
	}
	if _, err := f.sdk.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String("app/z.bin")}); err != nil {
		t.Fatal(err)
	}
	resp, err = f.store.List(t.Context(), &storage.ListRequest{URL: "s3://" + testBucket + "/app/"})
	if err != nil || len(resp.Entries) != 0 || resp.Truncated {
		t.Errorf("List of sub-folders only: %+v, %v; want an empty end", resp, err)
	}
}
