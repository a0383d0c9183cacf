package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mmbuild/mmbuild/plugins/storage-file/filestore"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// countingStore is the real file store with its calls counted, as the
// plugin sees them.
type countingStore struct {
	*filestore.Store
	puts, stats atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	c.puts.Add(1)
	return c.Store.Put(ctx, req)
}

func (c *countingStore) Stat(ctx context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	c.stats.Add(1)
	return c.Store.Stat(ctx, req)
}

// settlingStore is a file store whose calls a test can wait for.
type settlingStore struct {
	*filestore.Store
	wg sync.WaitGroup
}

func (s *settlingStore) Put(ctx context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	s.wg.Add(1)
	defer s.wg.Done()
	return s.Store.Put(ctx, req)
}

func (s *settlingStore) PutBatch(ctx context.Context, req *storage.PutBatchRequest) (*storage.PutResponse, error) {
	s.wg.Add(1)
	defer s.wg.Done()
	return s.Store.PutBatch(ctx, req)
}

// fileStoreOverWire is a Store of st served as the plugin "file" over gRPC,
// announcing batches or not.
func fileStoreOverWire(t *testing.T, st storage.Storage, batched bool) *Store {
	conn := sdktest.Serve(t, plugin.WithName("file"), plugin.WithStorage("file", st))
	caps := []string{storage.CapabilityContentDigest}
	if batched {
		caps = append(caps, storage.CapabilityBatch)
	}
	return New(func(string) (Backend, error) {
		return Backend{Name: "file", Storage: conn.Storage(), Capabilities: caps}, nil
	}, &finished{}, nil)
}

// PutMany and StatMany over the wire: with the plugin's batches (one call
// of the host for many items), and with a plugin that announces none (the
// host calls per item); the results are the same: every file put, each
// stat in order, a missing one as ErrNotFound, the digests the file's.
func TestPutManyStatMany(t *testing.T) {
	for _, batched := range []bool{true, false} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			cs := &countingStore{Store: filestore.New()}
			s := fileStoreOverWire(t, cs, batched)
			dir := t.TempDir()
			var items []PutItem
			var stats []StatItem
			var sums []string
			for i := range 25 {
				src := filepath.Join(dir, "src", fmt.Sprintf("f%d", i))
				data := []byte(fmt.Sprintf("file %d\n", i))
				if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(src, data, 0o644); err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(data)
				sums = append(sums, "sha256:"+hex.EncodeToString(sum[:]))
				u := "file://" + dir + "/dest/" + filepath.Base(src)
				items = append(items, PutItem{Path: src, URL: u, Digest: sums[i]})
				stats = append(stats, StatItem{URL: u})
			}
			if err := s.PutMany(t.Context(), items); err != nil {
				t.Fatal(err)
			}
			stats = append(stats, StatItem{URL: "file://" + dir + "/dest/missing"})
			res, err := s.StatMany(t.Context(), stats)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res[:25] {
				if r.Err != nil || r.Stat.ContentDigest != sums[i] {
					t.Errorf("item %d: %+v %v, want digest %s", i, r.Stat, r.Err, sums[i])
				}
			}
			if !errors.Is(res[25].Err, ErrNotFound) {
				t.Errorf("missing item: %v, want ErrNotFound", res[25].Err)
			}
			// The file store's own PutBatch puts without its Put; the
			// SDK's StatBatch for it calls Stat per item inside the
			// plugin; unbatched, the host calls Put and Stat per item.
			if batched && cs.puts.Load() != 0 {
				t.Errorf("batched: %d single Puts, want the batch alone", cs.puts.Load())
			}
			if !batched && (cs.puts.Load() != 25 || cs.stats.Load() != 26) {
				t.Errorf("unbatched: %d Puts and %d Stats, want 25 and 26", cs.puts.Load(), cs.stats.Load())
			}
		})
	}
}

// A PutMany that fails names the item, by its index in PutMany's items,
// batched or not, past the first batch (maxBatch items) too, although the
// file store's error names a destination, not the item.
func TestPutManyNamesTheFailedItem(t *testing.T) {
	for _, batched := range []bool{true, false} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			dir := t.TempDir()
			st := &settlingStore{Store: filestore.New()}
			// Before the folder is removed: the puts the host gave up
			// on when the first failed may still be writing in it.
			t.Cleanup(st.wg.Wait)
			s := fileStoreOverWire(t, st, batched)
			src := filepath.Join(dir, "src")
			if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			const bad = maxBatch + 3
			// A folder where the file would go: the store refuses to put it there.
			if err := os.MkdirAll(filepath.Join(dir, "dest", fmt.Sprint(bad)), 0o755); err != nil {
				t.Fatal(err)
			}
			var items []PutItem
			for i := range maxBatch + 10 {
				items = append(items, PutItem{Path: src, URL: fmt.Sprintf("file://%s/dest/%d", dir, i)})
			}
			err := s.PutMany(t.Context(), items)
			var ie *storage.ItemError
			if !errors.As(err, &ie) || ie.Index != bad {
				t.Fatalf("PutMany: %v (%#v), want item %d named", err, ie, bad)
			}
		})
	}
}
