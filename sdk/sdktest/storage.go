package sdktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// StorageOption adjusts the Storage suite to what a backend offers.
type StorageOption func(*storageSuite)

// ReadOnly declares a backend without Put. The suite then places each
// fixture with seed instead of Put: seed must make the file or directory
// tree at sourcePath readable at base+rel, as Put would have (rel is a
// relative, "/"-separated path made of [A-Za-z0-9./-]). The suite expects Put
// to fail with errors.ErrUnsupported.
//
// Default: the backend is writable and the suite places fixtures with Put.
func ReadOnly(seed func(t testing.TB, rel, sourcePath string)) StorageOption {
	return func(s *storageSuite) { s.seed = seed }
}

// WithoutDirs declares a backend that holds single objects only: the
// directory tree checks are skipped.
//
// Default: Put and Get of a directory tree are checked.
func WithoutDirs() StorageOption {
	return func(s *storageSuite) { s.noDirs = true }
}

// WithFlatNames declares a backend whose objects have flat names, without
// "/" (a content store, a key-value bucket: "kv://<name>"): the suite names
// its objects with "-" where it would nest them. It implies WithoutDirs.
//
// Default: the suite nests its objects in folders below base.
func WithFlatNames() StorageOption {
	return func(s *storageSuite) { s.flat, s.noDirs = true, true }
}

// WithoutModes declares a backend that does not keep the executable bit of a
// file.
//
// Default: a file's executable bit must survive a Put and a Get.
func WithoutModes() StorageOption {
	return func(s *storageSuite) { s.noModes = true }
}

// WithOptions passes opts in every request the suite makes, as the core
// passes a use's options merged with its credentials entry: what the
// backend's schema requires (a root, a region) and its credentials.
//
// Default: no options.
func WithOptions(opts map[string]string) StorageOption {
	return func(s *storageSuite) { s.opts = maps.Clone(opts) }
}

// WithRefusedCredential declares options, set over those of WithOptions,
// that carry a credential the backend's server refuses (a wrong token).
// The suite then checks that Stat, Get and (unless ReadOnly) Put with them
// fail with fs.ErrPermission, and that no error shows one of their values.
//
// Default: not checked, as it needs a server that checks credentials.
func WithRefusedCredential(opts map[string]string) StorageOption {
	return func(s *storageSuite) { s.refused = maps.Clone(opts) }
}

// Storage runs the storage conformance suite against s, as subtests of t.
//
// base is a URL prefix the test owns, ending in "/" ("file:///tmp/x/",
// "s3://bucket/prefix/"). The suite creates everything under
// base+"sdktest-<random>/" and removes nothing (storage.Storage has no
// Delete): point base at something the test throws away.
//
// Pass the backend through the wire, as the core sees it:
//
//	conn := sdktest.Serve(t, plugin.WithName("x"), plugin.WithStorage("x", impl))
//	sdktest.Storage(t, conn.Storage(), "x://bucket/test/")
//
// or the real binary, with Start(t, path).Storage(). The error sentinels of
// the storage contract survive the wire, so the checks are the same.
//
// The suite checks, each in its own subtest:
//   - PutGetFile: a file round-trips with identical bytes and executable
//     bit; Stat reports its size; the responses count its bytes, one file.
//   - PutGetTree: a tree (nested directories, an empty file, a 5 MiB file,
//     modes 0755 and 0644, no empty directory) round-trips identically; Stat
//     reports a directory of the total size (or -1). WithoutDirs: Put of a
//     directory fails with errors.ErrUnsupported.
//   - PutReplaces: a second Put to the same URL replaces the object.
//   - PutUnsupported (ReadOnly only): Put fails with errors.ErrUnsupported.
//   - Missing: Stat and Get of a missing URL (also below an existing object,
//     unless WithFlatNames) fail with fs.ErrNotExist; Get leaves DestPath absent.
//   - InvalidURL: a scheme the backend does not serve, a URL without scheme
//     and malformed URLs fail with storage.ErrInvalidURL.
//   - Cancel: Get (and Put) with a cancelled context fail; cancelled half-way
//     they fail or complete fully, never leaving a partial object; the
//     backend keeps working afterwards.
//   - Progress: progress is optional, but when reported DoneBytes never
//     decreases and never exceeds a known TotalBytes.
//   - UnknownOption: Stat, Get and Put with an option key the backend does
//     not know fail with an error that names the key, and write nothing.
//   - RefusedCredential (WithRefusedCredential only): see there.
//   - Batch (a storage.Batcher that is not ReadOnly): PutBatch and
//     StatBatch give what Put and Stat give, item by item.
//   - List (a storage.Lister that does not answer errors.ErrUnsupported,
//     unless WithFlatNames): the files directly in
//     a folder, in name order, a page at a time (StartAfter), each with
//     Stat's size and version; nothing from a sub-folder; an empty list for
//     a folder that does not exist; unless ReadOnly, a file put again with
//     other bytes has another version (when it has one).
func Storage(t *testing.T, s storage.Storage, base string, opts ...StorageOption) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || !strings.HasSuffix(base, "/") {
		t.Fatalf("sdktest.Storage: base %q must be an absolute URL ending in \"/\"", base)
	}
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		t.Fatalf("sdktest.Storage: %v", err)
	}
	suite := &storageSuite{s: s, base: base, run: "sdktest-" + hex.EncodeToString(id[:]) + "/", scheme: u.Scheme}
	for _, opt := range opts {
		opt(suite)
	}
	t.Run("PutGetFile", suite.putGetFile)
	t.Run("PutGetTree", suite.putGetTree)
	if suite.seed == nil {
		t.Run("PutReplaces", suite.putReplaces)
	} else {
		t.Run("PutUnsupported", suite.putUnsupported)
	}
	t.Run("Missing", suite.missing)
	t.Run("InvalidURL", suite.invalidURL)
	t.Run("Cancel", suite.cancel)
	t.Run("Progress", suite.progress)
	t.Run("UnknownOption", suite.unknownOption)
	if suite.refused != nil {
		t.Run("RefusedCredential", suite.refusedCredential)
	}
	if _, ok := s.(storage.Batcher); ok && suite.seed == nil {
		t.Run("Batch", suite.batch)
	}
	if suite.lists(t) {
		t.Run("List", suite.list)
	}
}

// lists reports whether the storage lists folders: it implements
// storage.Lister (a host's client of a plugin always does) and does not
// answer errors.ErrUnsupported (a plugin without storage.CapabilityList).
// Flat names have no folders.
func (s *storageSuite) lists(t *testing.T) bool {
	l, ok := s.s.(storage.Lister)
	if !ok || s.flat {
		return false
	}
	_, err := l.List(t.Context(), &storage.ListRequest{URL: s.base + s.run, Options: s.options()})
	return !errors.Is(err, errors.ErrUnsupported)
}

// list places three files in a folder and one in a sub-folder, and lists
// the folder: all of it, then after its first file.
func (s *storageSuite) list(t *testing.T) {
	l := s.s.(storage.Lister)
	dir := t.TempDir()
	files := []testFile{{"a.bin", 10, 0o644}, {"b.bin", 2000, 0o644}, {"c.bin", 0, 0o644}}
	for _, f := range files {
		src, _ := writeFile(t, dir, f)
		s.place(t, "folder/"+f.rel, src, transfer{int64(f.size), 1, false})
	}
	src, _ := writeFile(t, dir, testFile{"deeper.bin", 5, 0o644})
	s.place(t, "folder/sub/deeper.bin", src, transfer{5, 1, false})
	folder := s.url(t, "folder/")
	listAll := func(after string) []storage.ListEntry {
		t.Helper()
		var all []storage.ListEntry
		for range 10 {
			resp, err := l.List(t.Context(), &storage.ListRequest{URL: folder, Options: s.options(), StartAfter: after})
			if err != nil {
				t.Fatalf("List %s after %q: %v", folder, after, err)
			}
			all = append(all, resp.Entries...)
			if !resp.Truncated {
				return all
			}
			if len(resp.Entries) == 0 {
				t.Fatalf("List %s after %q: an empty page that says more follow", folder, after)
			}
			after = resp.Entries[len(resp.Entries)-1].Name
		}
		t.Fatalf("List %s: more than 10 pages of 3 files", folder)
		return nil
	}
	got := listAll("")
	if len(got) != len(files) {
		t.Fatalf("List %s: %+v, want the %d files directly in it", folder, got, len(files))
	}
	for i, e := range got {
		if e.Name != files[i].rel || e.Size != int64(files[i].size) {
			t.Errorf("List %s: entry %d is %q of %d bytes, want %q of %d", folder, i, e.Name, e.Size, files[i].rel, files[i].size)
		}
		st, err := s.s.Stat(t.Context(), &storage.StatRequest{URL: folder + e.Name, Options: s.options()})
		if err != nil {
			t.Fatalf("Stat %s: %v", folder+e.Name, err)
		}
		if e.Version != st.Version {
			t.Errorf("List %s: %s has version %q, Stat gives %q", folder, e.Name, e.Version, st.Version)
		}
	}
	if after := listAll("a.bin"); len(after) != 2 || after[0].Name != "b.bin" {
		t.Errorf("List %s after a.bin: %+v, want b.bin and c.bin", folder, after)
	}
	if none := listAll("c.bin"); len(none) != 0 {
		t.Errorf("List %s after its last file: %+v, want nothing", folder, none)
	}
	missing := s.url(t, "no-such-folder/")
	if resp, err := l.List(t.Context(), &storage.ListRequest{URL: missing, Options: s.options()}); err != nil || len(resp.Entries) != 0 || resp.Truncated {
		t.Errorf("List %s (no such folder): %+v, %v; want an empty list", missing, resp, err)
	}
	if s.seed != nil || got[1].Version == "" {
		return
	}
	src, _ = writeFile(t, t.TempDir(), testFile{"b.bin", 2000, 0o600})
	if err := os.WriteFile(src, content("other bytes", 2000), 0o644); err != nil {
		t.Fatal(err)
	}
	s.place(t, "folder/b.bin", src, transfer{2000, 1, false})
	if again := listAll(""); len(again) != len(files) || again[1].Version == got[1].Version {
		t.Errorf("List %s: b.bin put again with other bytes keeps version %q", folder, got[1].Version)
	}
}

// fileDigest is "sha256:<hex>" of the file at path, as the core sends it
// with a Put; "" for a directory.
func fileDigest(t testing.TB, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		return ""
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// checkContentDigest checks a reported content digest against the bytes
// put: a backend may report none, never a wrong one.
func checkContentDigest(t testing.TB, u string, st *storage.StatResponse, data []byte) {
	t.Helper()
	if st.ContentDigest == "" {
		return
	}
	sum := sha256.Sum256(data)
	if want := "sha256:" + hex.EncodeToString(sum[:]); st.ContentDigest != want {
		t.Errorf("Stat %s: ContentDigest %s, want %s (or none)", u, st.ContentDigest, want)
	}
}

// batch puts files with one PutBatch and stats them, and a missing one,
// with one StatBatch: each result as Stat would give it, in order.
func (s *storageSuite) batch(t *testing.T) {
	b := s.s.(storage.Batcher)
	dir := t.TempDir()
	var items []storage.PutRequest
	var datas [][]byte
	var total int64
	for i := range 5 {
		f := testFile{fmt.Sprintf("b%d.bin", i), 1000*i + 1, 0o644}
		src, data := writeFile(t, dir, f)
		items = append(items, storage.PutRequest{Options: s.options(), SourcePath: src, URL: s.url(t, f.rel), Digest: fileDigest(t, src)})
		datas = append(datas, data)
		total += int64(len(data))
	}
	resp, err := b.PutBatch(t.Context(), &storage.PutBatchRequest{Items: items})
	if err != nil {
		t.Fatalf("PutBatch: %v", err)
	}
	checkTransfer(t, "PutBatch", transfer{resp.Bytes, resp.Files, false}, transfer{total, int64(len(items)), false})
	stats := []storage.StatRequest{{Options: s.options(), URL: s.url(t, "missing")}}
	for _, it := range items {
		stats = append(stats, storage.StatRequest{Options: s.options(), URL: it.URL})
	}
	out, err := b.StatBatch(t.Context(), &storage.StatBatchRequest{Items: stats})
	if err != nil {
		t.Fatalf("StatBatch: %v", err)
	}
	if len(out.Results) != len(stats) {
		t.Fatalf("StatBatch: %d results for %d items", len(out.Results), len(stats))
	}
	if err := out.Results[0].Err; !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("StatBatch of a missing URL: %v, want fs.ErrNotExist", err)
	}
	for i, r := range out.Results[1:] {
		if r.Err != nil {
			t.Errorf("StatBatch %s: %v", stats[i+1].URL, r.Err)
			continue
		}
		if r.Stat.IsDir || r.Stat.Size != int64(len(datas[i])) {
			t.Errorf("StatBatch %s: IsDir=%v Size=%d, want a file of %d bytes", stats[i+1].URL, r.Stat.IsDir, r.Stat.Size, len(datas[i]))
		}
		checkContentDigest(t, stats[i+1].URL, r.Stat, datas[i])
		dest, _, err := s.get(t, t.Context(), stats[i+1].URL, nil)
		if err != nil {
			t.Fatalf("Get %s: %v", stats[i+1].URL, err)
		}
		s.checkFile(t, dest, datas[i], 0o644)
	}
}

type storageSuite struct {
	s       storage.Storage
	base    string // the caller's prefix, ending in "/"
	run     string // this run's own folder under base, ending in "/"
	scheme  string
	seed    func(t testing.TB, rel, sourcePath string)
	noDirs  bool
	noModes bool
	flat    bool              // object names without "/"
	opts    map[string]string // in every request
	refused map[string]string // over opts: a credential the server refuses
}

// options returns a fresh copy of the options for one request.
func (s *storageSuite) options() map[string]string { return maps.Clone(s.opts) }

const bigSize = 5 << 20

// testFile is one regular file of a fixture.
type testFile struct {
	rel  string // "/"-separated, relative to the fixture's root
	size int
	mode fs.FileMode
}

// treeFiles is the tree fixture. It has no empty directory: object stores
// cannot hold one.
var treeFiles = []testFile{
	{"a.txt", 1037, 0o644},
	{"empty", 0, 0o644},
	{"bin/tool", 4096, 0o755},
	{"nested/deeper/big.bin", bigSize, 0o644},
	{"nested/deeper/more/notes.md", 100, 0o644},
}

// content returns size deterministic bytes that differ by name.
func content(name string, size int) []byte {
	h := fnv.New64a()
	h.Write([]byte(name))
	var seed [32]byte
	copy(seed[:], h.Sum(nil))
	b := make([]byte, size)
	_, _ = mrand.NewChaCha8(seed).Read(b)
	return b
}

// writeFile writes f under dir with its exact mode and returns its path and
// content.
func writeFile(t testing.TB, dir string, f testFile) (string, []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(f.rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	data := content(f.rel, f.size)
	if err := os.WriteFile(p, data, f.mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, f.mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return p, data
}

// rel names an object of the running subtest, relative to base.
func (s *storageSuite) rel(t testing.TB, name string) string {
	rel := s.run + t.Name()[strings.LastIndex(t.Name(), "/")+1:] + "/" + name
	if s.flat {
		return strings.ReplaceAll(rel, "/", "-")
	}
	return rel
}

// url is the URL of an object of the running subtest.
func (s *storageSuite) url(t testing.TB, name string) string { return s.base + s.rel(t, name) }

// transfer is what a Get or Put response must say.
type transfer struct {
	bytes, files int64
	dir          bool
}

func checkTransfer(t testing.TB, op string, got, want transfer) {
	t.Helper()
	if got != want {
		t.Errorf("%s response: Bytes=%d Files=%d IsDir=%v, want Bytes=%d Files=%d IsDir=%v",
			op, got.bytes, got.files, got.dir, want.bytes, want.files, want.dir)
	}
}

// place makes the file or tree at src available as the subtest's object
// name, through Put or seed, and returns its URL.
func (s *storageSuite) place(t testing.TB, name, src string, want transfer) string {
	t.Helper()
	u := s.url(t, name)
	if s.seed != nil {
		s.seed(t, s.rel(t, name), src)
		return u
	}
	resp, err := s.s.Put(t.Context(), &storage.PutRequest{Options: s.options(), SourcePath: src, URL: u, Digest: fileDigest(t, src)})
	if err != nil {
		t.Fatalf("Put %s to %s: %v", src, u, err)
	}
	checkTransfer(t, "Put", transfer{resp.Bytes, resp.Files, resp.IsDir}, want)
	return u
}

func (s *storageSuite) get(t testing.TB, ctx context.Context, u string, progress storage.ProgressFunc) (string, *storage.GetResponse, error) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "dest")
	resp, err := s.s.Get(ctx, &storage.GetRequest{Options: s.options(), URL: u, DestPath: dest, Progress: progress})
	return dest, resp, err
}

func (s *storageSuite) checkFile(t testing.TB, path string, want []byte, mode fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("after Get: %v", err)
	}
	if !fi.Mode().IsRegular() {
		t.Fatalf("after Get: %s is %v, want a regular file", path, fi.Mode().Type())
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %d bytes that differ from the %d bytes put", path, len(got), len(want))
	}
	if !s.noModes && isExec(fi.Mode()) != isExec(mode) {
		t.Errorf("%s: mode %v, want the executable bit of %v", path, fi.Mode().Perm(), mode)
	}
}

func isExec(m fs.FileMode) bool { return m.Perm()&0o111 != 0 }

func (s *storageSuite) putGetFile(t *testing.T) {
	f := testFile{"object.bin", 100_003, 0o755}
	src, data := writeFile(t, t.TempDir(), f)
	u := s.place(t, "sub/dir/object.bin", src, transfer{int64(len(data)), 1, false})

	st, err := s.s.Stat(t.Context(), &storage.StatRequest{Options: s.options(), URL: u})
	if err != nil {
		t.Fatalf("Stat %s: %v", u, err)
	}
	if st.IsDir || st.Size != int64(len(data)) {
		t.Errorf("Stat %s: IsDir=%v Size=%d, want a file of %d bytes", u, st.IsDir, st.Size, len(data))
	}
	checkContentDigest(t, u, st, data)

	dest, resp, err := s.get(t, t.Context(), u, nil)
	if err != nil {
		t.Fatalf("Get %s: %v", u, err)
	}
	checkTransfer(t, "Get", transfer{resp.Bytes, resp.Files, resp.IsDir}, transfer{int64(len(data)), 1, false})
	s.checkFile(t, dest, data, f.mode)
}

func (s *storageSuite) putGetTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "tree")
	want := transfer{files: int64(len(treeFiles)), dir: true}
	for _, f := range treeFiles {
		writeFile(t, root, f)
		want.bytes += int64(f.size)
	}
	if s.noDirs {
		if s.seed == nil {
			u := s.url(t, "tree")
			_, err := s.s.Put(t.Context(), &storage.PutRequest{Options: s.options(), SourcePath: root, URL: u})
			if !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("Put of a directory on a backend WithoutDirs: %v, want errors.ErrUnsupported", err)
			}
		}
		t.Skip("backend holds single objects only (WithoutDirs)")
	}
	u := s.place(t, "tree", root, want)

	st, err := s.s.Stat(t.Context(), &storage.StatRequest{Options: s.options(), URL: u})
	if err != nil {
		t.Fatalf("Stat %s: %v", u, err)
	}
	if !st.IsDir || (st.Size != want.bytes && st.Size != -1) {
		t.Errorf("Stat %s: IsDir=%v Size=%d, want a directory of %d bytes (or -1)", u, st.IsDir, st.Size, want.bytes)
	}

	dest, resp, err := s.get(t, t.Context(), u, nil)
	if err != nil {
		t.Fatalf("Get %s: %v", u, err)
	}
	checkTransfer(t, "Get", transfer{resp.Bytes, resp.Files, resp.IsDir}, want)
	s.checkTree(t, dest)
}

// checkTree compares the tree at dest with treeFiles.
func (s *storageSuite) checkTree(t testing.TB, dest string) {
	t.Helper()
	wantDirs := map[string]bool{}
	wantFiles := map[string]testFile{}
	for _, f := range treeFiles {
		wantFiles[f.rel] = f
		for d := f.rel; strings.Contains(d, "/"); {
			d = d[:strings.LastIndex(d, "/")]
			wantDirs[d] = true
		}
	}
	var extra []string
	err := filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dest {
			return err
		}
		rel, err := filepath.Rel(dest, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir() && wantDirs[rel]:
			delete(wantDirs, rel)
		case d.Type().IsRegular() && wantFiles[rel].rel != "":
			f := wantFiles[rel]
			delete(wantFiles, rel)
			s.checkFile(t, p, content(f.rel, f.size), f.mode)
		default:
			extra = append(extra, fmt.Sprintf("%s (%v)", rel, d.Type()))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the tree Get wrote: %v", err)
	}
	var missing []string
	for d := range wantDirs {
		missing = append(missing, d+"/")
	}
	for f := range wantFiles {
		missing = append(missing, f)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("Get of a tree: missing %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("Get of a tree: unexpected entries %v", extra)
	}
}

func (s *storageSuite) putReplaces(t *testing.T) {
	dir := t.TempDir()
	first := testFile{"first", 20_000, 0o755}
	second := testFile{"second", 7_001, 0o644}
	src1, _ := writeFile(t, dir, first)
	src2, data2 := writeFile(t, dir, second)
	u := s.place(t, "object", src1, transfer{int64(first.size), 1, false})
	s.place(t, "object", src2, transfer{int64(second.size), 1, false})

	st, err := s.s.Stat(t.Context(), &storage.StatRequest{Options: s.options(), URL: u})
	if err != nil {
		t.Fatalf("Stat %s: %v", u, err)
	}
	if st.Size != int64(second.size) {
		t.Errorf("Stat %s after a second Put: Size=%d, want %d", u, st.Size, second.size)
	}
	checkContentDigest(t, u, st, data2)
	dest, _, err := s.get(t, t.Context(), u, nil)
	if err != nil {
		t.Fatalf("Get %s: %v", u, err)
	}
	s.checkFile(t, dest, data2, second.mode)
}

func (s *storageSuite) putUnsupported(t *testing.T) {
	src, _ := writeFile(t, t.TempDir(), testFile{"object", 10, 0o644})
	u := s.url(t, "object")
	_, err := s.s.Put(t.Context(), &storage.PutRequest{Options: s.options(), SourcePath: src, URL: u})
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Put on a read-only backend: %v, want errors.ErrUnsupported", err)
	}
}

func (s *storageSuite) missing(t *testing.T) {
	src, _ := writeFile(t, t.TempDir(), testFile{"object", 10, 0o644})
	existing := s.place(t, "object", src, transfer{10, 1, false})

	missing := []string{s.url(t, "missing"), s.url(t, "missing-dir/deeper/object")}
	if !s.flat { // flat names have nothing below an object
		missing = append(missing, existing+"/below-a-file")
	}
	for _, u := range missing {
		if _, err := s.s.Stat(t.Context(), &storage.StatRequest{Options: s.options(), URL: u}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat %s: %v, want fs.ErrNotExist", u, err)
		}
		dest, _, err := s.get(t, t.Context(), u, nil)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get %s: %v, want fs.ErrNotExist", u, err)
		}
		if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get %s failed but left DestPath behind (%v)", u, err)
		}
	}
}

func (s *storageSuite) invalidURL(t *testing.T) {
	src, _ := writeFile(t, t.TempDir(), testFile{"object", 10, 0o644})
	for _, u := range []string{
		"mmbuild-sdktest-unserved://host/object", // a scheme nobody serves
		"no-scheme/object",
		"",
		s.url(t, "bad%zz-escape"),
		s.url(t, "control\ncharacter"),
		s.scheme + "://bad%zz-host/object",
	} {
		if _, err := s.s.Stat(t.Context(), &storage.StatRequest{Options: s.options(), URL: u}); !errors.Is(err, storage.ErrInvalidURL) {
			t.Errorf("Stat %q: %v, want storage.ErrInvalidURL", u, err)
		}
		dest, _, err := s.get(t, t.Context(), u, nil)
		if !errors.Is(err, storage.ErrInvalidURL) {
			t.Errorf("Get %q: %v, want storage.ErrInvalidURL", u, err)
		}
		if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get %q failed but left DestPath behind (%v)", u, err)
		}
		_, err = s.s.Put(t.Context(), &storage.PutRequest{Options: s.options(), SourcePath: src, URL: u})
		if !errors.Is(err, storage.ErrInvalidURL) && (s.seed == nil || !errors.Is(err, errors.ErrUnsupported)) {
			t.Errorf("Put %q: %v, want storage.ErrInvalidURL", u, err)
		}
	}
}

func (s *storageSuite) cancel(t *testing.T) {
	f := testFile{"big.bin", bigSize, 0o644}
	src, data := writeFile(t, t.TempDir(), f)
	u := s.place(t, "big.bin", src, transfer{bigSize, 1, false})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := s.get(t, ctx, u, nil); err == nil {
		t.Errorf("Get %s with a cancelled context succeeded, want an error", u)
	}

	// Cancelled half-way: an error, or a complete result.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	dest, resp, err := s.get(t, ctx, u, func(storage.Progress) { cancel() })
	if err == nil {
		t.Logf("Get %s finished before it saw the cancel", u)
		checkTransfer(t, "Get", transfer{resp.Bytes, resp.Files, resp.IsDir}, transfer{bigSize, 1, false})
		s.checkFile(t, dest, data, f.mode)
	}

	if s.seed == nil {
		s.cancelPut(t, src, data)
	}

	// The backend still works.
	dest, _, err = s.get(t, t.Context(), u, nil)
	if err != nil {
		t.Fatalf("Get %s after cancelled calls: %v", u, err)
	}
	s.checkFile(t, dest, data, f.mode)
}

// cancelPut checks that a cancelled Put leaves no partial object: the URL is
// either missing or holds the whole file.
func (s *storageSuite) cancelPut(t *testing.T, src string, data []byte) {
	t.Helper()
	check := func(u string) {
		t.Helper()
		dest, _, err := s.get(t, t.Context(), u, nil)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			t.Errorf("Get %s after a cancelled Put: %v, want fs.ErrNotExist or the whole object", u, err)
		default:
			s.checkFile(t, dest, data, 0o644)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	u := s.url(t, "put-cancelled-before")
	if _, err := s.s.Put(ctx, &storage.PutRequest{Options: s.options(), SourcePath: src, URL: u}); err == nil {
		t.Errorf("Put %s with a cancelled context succeeded, want an error", u)
	}
	check(u)

	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	u = s.url(t, "put-cancelled-half-way")
	_, err := s.s.Put(ctx, &storage.PutRequest{Options: s.options(), SourcePath: src, URL: u, Progress: func(storage.Progress) { cancel() }})
	if err == nil {
		t.Logf("Put %s finished before it saw the cancel", u)
	}
	check(u)
}

func (s *storageSuite) progress(t *testing.T) {
	f := testFile{"big.bin", bigSize, 0o644}
	src, data := writeFile(t, t.TempDir(), f)
	u := s.url(t, "big.bin")
	if s.seed != nil {
		s.place(t, "big.bin", src, transfer{})
	} else {
		put := NewProgressLog(t, "Put")
		if _, err := s.s.Put(t.Context(), &storage.PutRequest{Options: s.options(), SourcePath: src, URL: u, Progress: put.Report}); err != nil {
			t.Fatalf("Put %s: %v", u, err)
		}
		put.done(bigSize)
	}

	get := NewProgressLog(t, "Get")
	dest, _, err := s.get(t, t.Context(), u, get.Report)
	if err != nil {
		t.Fatalf("Get %s: %v", u, err)
	}
	get.done(bigSize)
	s.checkFile(t, dest, data, f.mode)
}
