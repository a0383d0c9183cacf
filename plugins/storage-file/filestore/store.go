package filestore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Store is the file:// backend. It holds no state.
type Store struct{}

var (
	_ storage.Storage = (*Store)(nil)
	_ plugin.Capabler = (*Store)(nil)
	_ plugin.Schemer  = (*Store)(nil)
	_ storage.Batcher = (*Store)(nil)
)

// New returns the file:// backend.
func New() *Store { return &Store{} }

// Capabilities announces Get of trees, Put of files and trees, progress,
// and content digests (a file hashed in place).
func (*Store) Capabilities() []string {
	return []string{storage.CapabilityGetDir, storage.CapabilityProgress, storage.CapabilityPut, storage.CapabilityPutDir, storage.CapabilityContentDigest}
}

// ConfigSchema says the backend takes no options.
func (*Store) ConfigSchema() json.RawMessage {
	return json.RawMessage(`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{},"additionalProperties":false}`)
}

// checkOptions refuses any option: there are none.
func checkOptions(opts map[string]string) error {
	if len(opts) == 0 {
		return nil
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Errorf("file storage takes no options, got %s", strings.Join(keys, ", "))
}

// Stat describes the file or tree at req.URL. A tree is checked as Get would
// check it; its Size is the total of the regular files Get would copy.
func (*Store) Stat(ctx context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	if err := checkOptions(req.Options); err != nil {
		return nil, err
	}
	path, err := localPath(req.URL)
	if err != nil {
		return nil, err
	}
	src, err := scan(ctx, path)
	if err != nil {
		return nil, err
	}
	resp := &storage.StatResponse{IsDir: src.dir, Size: src.bytes, ModTime: src.info.ModTime()}
	if !src.dir {
		// The store vouches for a file's digest by hashing it where it
		// lies: no copy, one read.
		if resp.ContentDigest, err = contentDigest(ctx, src); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// StatBatch describes many files or trees, a few at a time (hashing is
// what costs).
func (st *Store) StatBatch(ctx context.Context, req *storage.StatBatchRequest) (*storage.StatBatchResponse, error) {
	out := &storage.StatBatchResponse{Results: make([]storage.StatResult, len(req.Items))}
	var wg sync.WaitGroup
	sem := make(chan struct{}, copyWorkers)
	for i := range req.Items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out.Results[i].Stat, out.Results[i].Err = st.Stat(ctx, &req.Items[i])
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Get copies the file or tree at req.URL to req.DestPath.
func (*Store) Get(ctx context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	if err := checkOptions(req.Options); err != nil {
		return nil, err
	}
	path, err := localPath(req.URL)
	if err != nil {
		return nil, err
	}
	src, err := scan(ctx, path)
	if err != nil {
		return nil, err
	}
	p := progress.NewMeter(req.Report, src.bytes)
	if err := src.copyTo(ctx, req.DestPath, false, p); err != nil {
		return nil, fmt.Errorf("copying %s to %s: %w", src.root, req.DestPath, err)
	}
	return &storage.GetResponse{Bytes: p.Done(), Files: src.files, IsDir: src.dir}, nil
}

// Put copies req.SourcePath to the path of req.URL atomically.
func (*Store) Put(ctx context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	if err := checkOptions(req.Options); err != nil {
		return nil, err
	}
	dest, err := localPath(req.URL)
	if err != nil {
		return nil, err
	}
	src, err := scan(ctx, req.SourcePath)
	if err != nil {
		return nil, fmt.Errorf("reading source: %w", err)
	}
	src.link = req.Snapshot
	p := progress.NewMeter(req.Report, src.bytes)
	if err := put(ctx, src, dest, p); err != nil {
		return nil, fmt.Errorf("writing %s: %w", dest, err)
	}
	return &storage.PutResponse{Bytes: p.Done(), Files: src.files, IsDir: src.dir}, nil
}
