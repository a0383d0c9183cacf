package storeindex

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

var (
	sumA = strings.Repeat("a", 64)
	sumB = strings.Repeat("b", 64)
)

func TestDecodeRefuses(t *testing.T) {
	obj := func(fields string) string {
		return `{"_type":"` + Type + `","objects":[` + fields + `]}`
	}
	good := `{"at":"artifacts.destination","name":"x","size":1,"version":"v","sha256":"` + sumA + `"}`
	tests := []struct {
		name, data, want string
	}{
		{"not JSON", `{`, "parsing the store index"},
		{"another type", `{"_type":"https://example.com/other","objects":[]}`, "_type"},
		{"unknown field", `{"_type":"` + Type + `","objects":[],"extra":1}`, "unknown field"},
		{"no version", obj(`{"at":"a","name":"x","size":1,"sha256":"` + sumA + `"}`), "objects[0] lacks"},
		{"no use", obj(`{"name":"x","size":1,"version":"v","sha256":"` + sumA + `"}`), "objects[0] lacks"},
		{"negative size", obj(`{"at":"a","name":"x","size":-1,"version":"v","sha256":"` + sumA + `"}`), "negative size"},
		{"short digest", obj(`{"at":"a","name":"x","size":1,"version":"v","sha256":"abc"}`), "SHA-256"},
		{"upper-case digest", obj(`{"at":"a","name":"x","size":1,"version":"v","sha256":"` + strings.ToUpper(sumA) + `"}`), "SHA-256"},
		{"twice", obj(good + "," + good), "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode: %v, want an error with %q", err, tt.want)
			}
		})
	}
	ix, err := Decode([]byte(obj(good)))
	if err != nil || len(ix.Objects) != 1 {
		t.Fatalf("Decode of a good index: %+v, %v", ix, err)
	}
	data, err := Encode(ix)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Decode(data); err != nil || !slices.Equal(again.Objects, ix.Objects) {
		t.Errorf("Encode then Decode: %+v, %v; want %+v", again, err, ix.Objects)
	}
}

// folderLister serves listings of folders from memory, pageSize entries a
// page, and counts the pages asked for: the untrusted listing Vouch reads
// (a real store's listing is tested against versitygw in storage-s3 and
// end to end in e2e).
type folderLister struct {
	folders  map[string][]storage.ListEntry
	pageSize int
	pages    int
	fail     error
	// misbehave, when set, changes a page before it is returned.
	misbehave func(*storage.ListResponse)
}

func (l *folderLister) List(_ context.Context, url string, _ map[string]string, after string) (*storage.ListResponse, error) {
	l.pages++
	if l.fail != nil {
		return nil, l.fail
	}
	resp := &storage.ListResponse{}
	for _, e := range l.folders[url] {
		if e.Name <= after {
			continue
		}
		if len(resp.Entries) == l.pageSize {
			resp.Truncated = true
			break
		}
		resp.Entries = append(resp.Entries, e)
	}
	if l.misbehave != nil {
		l.misbehave(resp)
	}
	return resp, nil
}

func TestVouch(t *testing.T) {
	const dir, at = "s3://b/app/k/", "artifacts.destination"
	index := &Index{Objects: []Object{
		{At: at, Name: "a", Size: 1, Version: "va", SHA256: sumA},
		{At: at, Name: "b", Size: 2, Version: "vb", SHA256: sumB},
		{At: at, Name: "c", Size: 3, Version: "vc", SHA256: sumA},
		{At: "transfers[0].destination", Name: "d", Size: 4, Version: "vd", SHA256: sumA},
	}}
	listing := func() []storage.ListEntry {
		return []storage.ListEntry{{Name: "a", Size: 1, Version: "va"}, {Name: "b", Size: 2, Version: "vb"}, {Name: "c", Size: 3, Version: "vc"}, {Name: "z", Size: 9, Version: "vz"}}
	}
	want := func(name, sum string) Want { return Want{At: at, Dir: dir, Name: name, SHA256: sum} }
	tests := []struct {
		name      string
		wants     []Want
		listing   func([]storage.ListEntry) []storage.ListEntry
		misbehave func(*storage.ListResponse)
		fail      error
		sizes     []int64
		err       string
	}{
		{name: "unchanged", wants: []Want{want("a", sumA), want("b", sumB), want("c", sumA)}, sizes: []int64{1, 2, 3}},
		{name: "another digest wanted", wants: []Want{want("a", sumB), want("b", sumB)}, sizes: []int64{-1, 2}},
		{name: "not in the index", wants: []Want{want("y", sumA), want("b", sumB)}, sizes: []int64{-1, 2}},
		{name: "another use of the same name", wants: []Want{{At: at, Dir: dir, Name: "d", SHA256: sumA}}, sizes: []int64{-1}},
		{name: "rewritten since", wants: []Want{want("a", sumA), want("b", sumB)},
			listing: func(es []storage.ListEntry) []storage.ListEntry { es[1].Version = "vb2"; return es }, sizes: []int64{1, -1}},
		{name: "same version, other size", wants: []Want{want("a", sumA)},
			listing: func(es []storage.ListEntry) []storage.ListEntry { es[0].Size = 7; return es }, sizes: []int64{-1}},
		{name: "no version listed", wants: []Want{want("a", sumA)},
			listing: func(es []storage.ListEntry) []storage.ListEntry { es[0].Version = ""; return es }, sizes: []int64{-1}},
		{name: "gone", wants: []Want{want("a", sumA), want("c", sumA)},
			listing: func(es []storage.ListEntry) []storage.ListEntry { return append(es[:2:2], es[3]) }, sizes: []int64{1, -1}},
		{name: "listing refused", wants: []Want{want("a", sumA)}, fail: fmt.Errorf("403: %w", errors.ErrUnsupported), sizes: []int64{-1}, err: "listing s3://b/app/k/"},
		{name: "names out of order", wants: []Want{want("a", sumA), want("c", sumA)},
			misbehave: func(r *storage.ListResponse) { slices.Reverse(r.Entries) }, sizes: []int64{-1, -1}, err: "do not ascend"},
		{name: "an empty page saying more follow", wants: []Want{want("a", sumA)},
			misbehave: func(r *storage.ListResponse) { r.Entries, r.Truncated = nil, true }, sizes: []int64{-1}, err: "empty page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := listing()
			if tt.listing != nil {
				es = tt.listing(es)
			}
			l := &folderLister{folders: map[string][]storage.ListEntry{dir: es}, pageSize: 2, fail: tt.fail, misbehave: tt.misbehave}
			sizes, err := index.Vouch(t.Context(), l, tt.wants)
			if !slices.Equal(sizes, tt.sizes) {
				t.Errorf("sizes %v, want %v", sizes, tt.sizes)
			}
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("error %v, want %q", err, tt.err)
			}
		})
	}
}

// A folder is listed once, and only as far as the last wanted name; a
// listing that goes on and on past what was wanted is given up.
func TestVouchListsOnlyWhatItNeeds(t *testing.T) {
	const dir, at = "s3://b/many/", "artifacts.destination"
	var objs []Object
	var es []storage.ListEntry
	for i := range 100 {
		n := fmt.Sprintf("f%03d", i)
		objs = append(objs, Object{At: at, Name: n, Size: 1, Version: "v" + n, SHA256: sumA})
		es = append(es, storage.ListEntry{Name: n, Size: 1, Version: "v" + n})
	}
	index := &Index{Objects: objs}
	l := &folderLister{folders: map[string][]storage.ListEntry{dir: es}, pageSize: 10}
	sizes, err := index.Vouch(t.Context(), l, []Want{{At: at, Dir: dir, Name: "f005", SHA256: sumA}, {At: at, Dir: dir, Name: "f025", SHA256: sumA}})
	if err != nil || !slices.Equal(sizes, []int64{1, 1}) {
		t.Fatalf("Vouch: %v, %v", sizes, err)
	}
	if l.pages != 3 {
		t.Errorf("listed %d pages to reach f025 at 10 a page, want 3", l.pages)
	}

	// A store that lists ever more names before the wanted one.
	var endless []storage.ListEntry
	for i := range 20000 {
		endless = append(endless, storage.ListEntry{Name: fmt.Sprintf("a%05d", i), Size: 1, Version: "v"})
	}
	endless = append(endless, storage.ListEntry{Name: "f005", Size: 1, Version: "vf005"})
	l = &folderLister{folders: map[string][]storage.ListEntry{dir: endless}, pageSize: 1000}
	sizes, err = index.Vouch(t.Context(), l, []Want{{At: at, Dir: dir, Name: "f005", SHA256: sumA}})
	if err == nil || !strings.Contains(err.Error(), "more files than") || sizes[0] != -1 {
		t.Errorf("Vouch over an endless listing: %v, %v; want it given up", sizes, err)
	}
}
