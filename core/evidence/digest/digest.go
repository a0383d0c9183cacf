// Package digest computes the digests the core records and compares: sha256
// always, sha1 and sha512 only when a given digest asks for them, all in one
// streaming pass; files in parallel across cores.
package digest

import (
	"context"
	"crypto/sha1" //nolint:gosec // sha1 is accepted for git commits and legacy configs, never alone
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Algorithm names, as used in in-toto digest sets.
const (
	SHA1   = "sha1"
	SHA256 = "sha256"
	SHA512 = "sha512"
)

// Set maps an algorithm name to a lower-case hex digest.
type Set map[string]string

func newHash(alg string) (hash.Hash, error) {
	switch alg {
	case SHA256:
		return sha256.New(), nil
	case SHA512:
		return sha512.New(), nil
	case SHA1:
		return sha1.New(), nil //nolint:gosec
	}
	return nil, fmt.Errorf("unsupported digest algorithm %q", alg)
}

// bufPool holds 1 MiB copy buffers: memory stays flat whatever the file size.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// Reader hashes everything read from r with sha256 and the extra algorithms.
func Reader(r io.Reader, extra ...string) (Set, int64, error) {
	algs := withSHA256(extra)
	hashes := make([]hash.Hash, len(algs))
	for i, a := range algs {
		h, err := newHash(a)
		if err != nil {
			return nil, 0, err
		}
		hashes[i] = h
	}
	var n int64
	var err error
	if len(hashes) == 1 {
		bp := bufPool.Get().(*[]byte)
		n, err = io.CopyBuffer(hashes[0], r, *bp)
		bufPool.Put(bp)
	} else {
		n, err = hashConcurrently(r, hashes)
	}
	if err != nil {
		return nil, n, err
	}
	set := Set{}
	for i, a := range algs {
		set[a] = hex.EncodeToString(hashes[i].Sum(nil))
	}
	return set, n, nil
}

func withSHA256(extra []string) []string {
	algs := []string{SHA256}
	for _, a := range extra {
		if a != SHA256 && !contains(algs, a) {
			algs = append(algs, a)
		}
	}
	return algs
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// File hashes one file.
func File(path string, extra ...string) (Set, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	return Reader(f, extra...)
}

// Result is the digest of one of the files given to Files.
type Result struct {
	Path   string
	Digest Set
	Size   int64
}

// Files hashes paths in parallel, one worker per core, and returns the
// results in the order of paths.
func Files(ctx context.Context, paths []string, extra ...string) ([]Result, error) {
	return CopyFiles(ctx, paths, nil, extra...)
}

// CopyFile copies src to the new file dst (read-only) and hashes the bytes
// it copied, in one read: the digest is of exactly the bytes dst holds,
// whatever happens to src meanwhile.
func CopyFile(src, dst string, extra ...string) (Set, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return nil, 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return nil, 0, err
	}
	set, n, err := Reader(io.TeeReader(in, out), extra...)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(dst)
		return nil, 0, err
	}
	return set, n, nil
}

// CopyFiles hashes paths in parallel, one worker per core, copying each to
// dsts[i] as CopyFile does when dsts is not nil, and returns the results in
// the order of paths (Path is the path hashed).
func CopyFiles(ctx context.Context, paths, dsts []string, extra ...string) ([]Result, error) {
	out := make([]Result, len(paths))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, p := range paths {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var set Set
			var n int64
			var err error
			if dsts == nil {
				set, n, err = File(p, extra...)
			} else {
				set, n, err = CopyFile(p, dsts[i], extra...)
			}
			if err != nil {
				return fmt.Errorf("hashing %s: %w", p, err)
			}
			out[i] = Result{Path: p, Digest: set, Size: n}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// Tree hashes a directory: the sha256 (and extra algorithms) of its manifest,
// the lines "<sha256 hex>  <slash path>\n" of every regular file sorted by
// path — the output `find . -type f | sort | xargs sha256sum` gives, with
// paths relative to root. Empty directories do not count; a symlink or a
// special file in the tree is an error (the core refuses them earlier).
func Tree(ctx context.Context, root string, extra ...string) (Set, int64, error) {
	files, err := walkFiles(root)
	if err != nil {
		return nil, 0, err
	}
	abs := make([]string, len(files))
	for i, f := range files {
		abs[i] = root + "/" + f
	}
	results, err := Files(ctx, abs)
	if err != nil {
		return nil, 0, err
	}
	var manifest strings.Builder
	var total int64
	for i, r := range results {
		fmt.Fprintf(&manifest, "%s  %s\n", r.Digest[SHA256], files[i])
		total += r.Size
	}
	set, _, err := Reader(strings.NewReader(manifest.String()), extra...)
	return set, total, err
}

func walkFiles(root string) ([]string, error) {
	var files []string
	var walk func(rel string) error
	walk = func(rel string) error {
		dir := root
		if rel != "" {
			dir = root + "/" + rel
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := e.Name()
			if rel != "" {
				p = rel + "/" + p
			}
			switch {
			case e.IsDir():
				if err := walk(p); err != nil {
					return err
				}
			case e.Type().IsRegular():
				files = append(files, p)
			default:
				return fmt.Errorf("hashing tree %s: %s is not a regular file or directory", root, p)
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

// Matches reports whether got agrees with every algorithm of want. It is an
// error for want to name an algorithm got lacks.
func Matches(want, got Set) error {
	if len(want) == 0 {
		return fmt.Errorf("no digest to compare")
	}
	algs := make([]string, 0, len(want))
	for a := range want {
		algs = append(algs, a)
	}
	sort.Strings(algs)
	for _, a := range algs {
		g, ok := got[a]
		if !ok {
			return fmt.Errorf("no %s computed", a)
		}
		if !strings.EqualFold(g, want[a]) {
			return &MismatchError{Algorithm: a, Want: strings.ToLower(want[a]), Got: g}
		}
	}
	return nil
}

// MismatchError reports a digest that differs from the expected one.
type MismatchError struct {
	Algorithm, Want, Got string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s digest mismatch: want %s, got %s", e.Algorithm, e.Want, e.Got)
}

// Algorithms returns the algorithms of s other than sha256, for a second
// pass that must compute exactly what a given digest asks for.
func (s Set) Algorithms() []string {
	var out []string
	for a := range s {
		if a != SHA256 {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// hashConcurrently feeds every chunk read from r to all hashes at once, one
// goroutine per hash, while the next chunk is read: several algorithms cost
// the time of the slowest one (sha512 next to sha256), not their sum.
func hashConcurrently(r io.Reader, hashes []hash.Hash) (int64, error) {
	feeds, workers := startHashers(hashes)
	total, err := readChunks(r, feeds)
	for _, f := range feeds {
		close(f)
	}
	workers.Wait()
	return total, err
}

// chunk is one buffer read, shared by the goroutines of every hash; done
// counts the hashes that have yet to write it.
type chunk struct {
	buf  *[]byte
	n    int
	done sync.WaitGroup
}

// release waits until every hash has written c, then gives its buffer back
// to the pool.
func (c *chunk) release() {
	c.done.Wait()
	bufPool.Put(c.buf)
}

// startHashers starts one goroutine per hash, writing into it the chunks
// sent on its feed, in order. Close the feeds, then wait on the group, to
// stop them.
func startHashers(hashes []hash.Hash) ([]chan *chunk, *sync.WaitGroup) {
	feeds := make([]chan *chunk, len(hashes))
	workers := &sync.WaitGroup{}
	for i, h := range hashes {
		feeds[i] = make(chan *chunk, 2)
		workers.Add(1)
		go func() {
			defer workers.Done()
			for c := range feeds[i] {
				h.Write((*c.buf)[:c.n])
				c.done.Done()
			}
		}()
	}
	return feeds, workers
}

// readChunks reads r to its end into pool buffers and sends each chunk to
// every feed, returning the bytes read once every hash has written every
// chunk. While the hashes write one chunk, the next one is read.
func readChunks(r io.Reader, feeds []chan *chunk) (int64, error) {
	var total int64
	var readErr error
	var pending []*chunk
	for {
		// At most two chunks in flight: memory stays at two buffers.
		if len(pending) == 2 {
			pending[0].release()
			pending = pending[1:]
		}
		bp := bufPool.Get().(*[]byte)
		n, err := io.ReadFull(r, *bp)
		if n > 0 {
			c := &chunk{buf: bp, n: n}
			c.done.Add(len(feeds))
			for _, f := range feeds {
				f <- c
			}
			pending = append(pending, c)
			total += int64(n)
		} else {
			bufPool.Put(bp)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
	}
	for _, c := range pending {
		c.release()
	}
	return total, readErr
}
