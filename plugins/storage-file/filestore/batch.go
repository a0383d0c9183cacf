package filestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// hashBuffers holds the 1 MiB read buffers of contentDigest: allocating
// (and zeroing) one per file would cost more than hashing a small file.
var hashBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// contentDigest hashes the regular file src describes where it lies, read
// through the os.Root that scan's checks hold to: "sha256:<hex>".
func contentDigest(ctx context.Context, src *source) (string, error) {
	base, err := os.OpenRoot(src.base)
	if err != nil {
		return "", err
	}
	defer base.Close()
	f, err := openRegular(base, src.entries[0].src)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	bp := hashBuffers.Get().(*[]byte)
	defer hashBuffers.Put(bp)
	if _, err := io.CopyBuffer(h, f, *bp); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// copyWorkers is how many files of a batch are copied at once.
const copyWorkers = 4

// staged is one file of a batch, copied beside its destination.
type staged struct {
	tmp, dest string
}

// PutBatch puts many files with one sync: each is copied beside its
// destination unsynced (a few at a time), then the file systems are synced
// once (syncfs), then each copy is renamed into place, and each folder
// synced once. A reader sees every destination old or new, never a part;
// a failure leaves the destinations not yet renamed as they were. Trees go
// through Put, one by one.
func (st *Store) PutBatch(ctx context.Context, req *storage.PutBatchRequest) (*storage.PutResponse, error) {
	type job struct {
		src  *source
		dest string
		item int // its index in req.Items
	}
	// failed is item i's error, naming it for the host.
	failed := func(i int, err error) error { return &storage.ItemError{Index: i, Err: err} }
	var files []job
	total := &storage.PutResponse{}
	for i, it := range req.Items {
		if err := checkOptions(it.Options); err != nil {
			return nil, failed(i, err)
		}
		dest, err := localPath(it.URL)
		if err != nil {
			return nil, failed(i, err)
		}
		src, err := scan(ctx, it.SourcePath)
		if err != nil {
			return nil, failed(i, fmt.Errorf("reading source: %w", err))
		}
		src.link = it.Snapshot
		if src.dir {
			it.Progress = req.Progress
			resp, err := st.Put(ctx, &it)
			if err != nil {
				return nil, failed(i, err)
			}
			total.Bytes += resp.Bytes
			total.Files += resp.Files
			continue
		}
		if err := checkFileDest(dest); err != nil {
			return nil, failed(i, fmt.Errorf("writing %s: %w", dest, err))
		}
		files = append(files, job{src, dest, i})
		total.Bytes += src.bytes
		total.Files++
	}
	if len(files) == 0 {
		return total, nil
	}
	p := progress.NewMeter(req.Report, total.Bytes)
	out := make([]staged, len(files))
	var wg sync.WaitGroup
	errs := make([]error, len(files))
	sem := make(chan struct{}, copyWorkers)
	for i, j := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			parent, name := filepath.Split(j.dest)
			if err := os.MkdirAll(parent, 0o755); err != nil {
				errs[i] = err
				return
			}
			tmp := filepath.Join(parent, hiddenName(name, "put"))
			// p adds up the copies that run at once.
			if err := j.src.copyTo(ctx, tmp, false, p); err != nil {
				errs[i] = fmt.Errorf("writing %s: %w", j.dest, err)
				return
			}
			out[i] = staged{tmp, j.dest}
		}()
	}
	wg.Wait()
	discard := func(from int) {
		for _, s := range out[from:] {
			if s.tmp != "" {
				_ = os.Remove(s.tmp)
			}
		}
	}
	for i, err := range errs { // the first copy that failed
		if err != nil {
			discard(0)
			return nil, failed(files[i].item, err)
		}
	}
	tmps := make([]string, len(out))
	for i, s := range out {
		tmps[i] = s.tmp
	}
	if err := syncFiles(tmps); err != nil {
		discard(0)
		return nil, fmt.Errorf("syncing the copies: %w", err)
	}
	dirs := map[string]bool{}
	for i, s := range out {
		if err := os.Rename(s.tmp, s.dest); err != nil {
			discard(i)
			return nil, failed(files[i].item, fmt.Errorf("writing %s: %w", s.dest, err))
		}
		dirs[filepath.Dir(s.dest)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return nil, fmt.Errorf("syncing %s: %w", d, err)
		}
	}
	return total, nil
}

// checkFileDest refuses a file put where a directory is.
func checkFileDest(dest string) error {
	if _, name := filepath.Split(dest); name == "" {
		return fmt.Errorf("%w: cannot put to /", storage.ErrInvalidURL)
	}
	old, err := os.Lstat(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case old.IsDir():
		return fmt.Errorf("%s is a directory; a file would replace it", dest)
	}
	return nil
}
