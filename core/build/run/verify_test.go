package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mmbuild/mmbuild/plugins/storage-file/filestore"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// observedStore is the real file store, with the Gets of the artifact
// (out.txt) it serves counted and, per mode, its content digests withheld or replaced.
type observedStore struct {
	*filestore.Store
	gets atomic.Int64
	mode string // "": as is; "none": no content digests; "wrong": a wrong one
}

func (s *observedStore) Capabilities() []string {
	caps := s.Store.Capabilities()
	if s.mode == "none" {
		caps = slices.DeleteFunc(caps, func(c string) bool { return c == storage.CapabilityContentDigest })
	}
	return caps
}

func (s *observedStore) Get(ctx context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	if strings.HasSuffix(req.URL, "/out.txt") {
		s.gets.Add(1)
	}
	return s.Store.Get(ctx, req)
}

func (s *observedStore) Stat(ctx context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	resp, err := s.Store.Stat(ctx, req)
	if err == nil {
		switch s.mode {
		case "none":
			resp.ContentDigest = ""
		case "wrong":
			if resp.ContentDigest != "" && strings.HasSuffix(req.URL, "/out.txt") {
				resp.ContentDigest = "sha256:" + strings.Repeat("0", 64)
			}
		}
	}
	return resp, nil
}

// StatBatch goes through Stat above, not the file store's own.
func (s *observedStore) StatBatch(ctx context.Context, req *storage.StatBatchRequest) (*storage.StatBatchResponse, error) {
	out := &storage.StatBatchResponse{}
	for i := range req.Items {
		st, err := s.Stat(ctx, &req.Items[i])
		out.Results = append(out.Results, storage.StatResult{Stat: st, Err: err})
	}
	return out, nil
}

// The post-publish check and the cache lookup take a store's content
// digest where it offers one (the file store hashes in place): only the
// attestation is downloaded. A store that offers none is checked by
// downloading; a content digest that differs from the recorded one is a
// miss, and the build runs again.
func TestPublishedBuildCheckedByContentAddress(t *testing.T) {
	for _, c := range []struct {
		mode string
		// Downloads of the artifact by the check after publishing, and
		// by the lookup of the second run.
		firstGets, secondGets int64
	}{
		{mode: "", firstGets: 0, secondGets: 0},
		{mode: "none", firstGets: 1, secondGets: 1},
	} {
		t.Run("store digest "+c.mode, func(t *testing.T) {
			p := newProject(t, baseConfig)
			st := &observedStore{Store: filestore.New(), mode: c.mode}
			h := hostWith(t, st)
			if o := runProject(t, p, WithHost(h)); o.err != nil {
				t.Fatal(o.err)
			}
			if got := st.gets.Load(); got != c.firstGets {
				t.Errorf("first run: %d Gets, want %d", got, c.firstGets)
			}
			st.gets.Store(0)
			o := runProject(t, p, WithHost(h))
			if o.err != nil {
				t.Fatal(o.err)
			}
			if !o.res.Cached || p.builds(t) != 1 {
				t.Fatalf("cached=%v builds=%d, want a cache hit", o.res.Cached, p.builds(t))
			}
			if got := st.gets.Load(); got != c.secondGets {
				t.Errorf("cache hit: %d Gets, want %d", got, c.secondGets)
			}
			if a := o.res.Artifacts; len(a) != 1 || a[0].Digest["sha256"] != greetingSHA256 || a[0].Size != int64(len(greeting)) {
				t.Errorf("cached artifacts %+v", a)
			}
		})
	}
	t.Run("store digest differs", func(t *testing.T) {
		p := newProject(t, baseConfig)
		st := &observedStore{Store: filestore.New()}
		h := hostWith(t, st)
		if o := runProject(t, p, WithHost(h)); o.err != nil {
			t.Fatal(o.err)
		}
		st.mode = "wrong"
		o := runProject(t, p, WithHost(h))
		// The lookup misses and the build runs again; the store still
		// claims other bytes after publishing, which fails the run.
		if p.builds(t) != 2 || !errors.Is(o.err, ErrConcurrentPublish) {
			t.Fatalf("builds=%d err=%v, want a rebuild whose check fails", p.builds(t), o.err)
		}
		if st.gets.Load() != 0 {
			t.Errorf("the artifact was downloaded %d times, want none", st.gets.Load())
		}
	})
}

// A rebuild after a content-digest miss publishes a consistent build.
func TestContentDigestMissRepublishes(t *testing.T) {
	p := newProject(t, baseConfig)
	o := runProject(t, p)
	if o.err != nil {
		t.Fatal(o.err)
	}
	art := filepath.Join(p.dest, o.res.StagingKey, "out.txt")
	if err := os.WriteFile(art, []byte("tampered\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o = runProject(t, p)
	if o.err != nil || o.res.Cached {
		t.Fatalf("tampered artifact: cached=%v err=%v, want a rebuild", o.res != nil && o.res.Cached, o.err)
	}
	assertConsistent(t, filepath.Join(p.dest, o.res.StagingKey))
}

// snapshotStore records, for each file put, whether the core marked it as
// its read-only snapshot, and the source's mode at that moment.
type snapshotStore struct {
	*filestore.Store
	mu   sync.Mutex
	puts map[string]snapshotPut // by URL's base name
}

type snapshotPut struct {
	snapshot bool
	mode     os.FileMode
}

func (s *snapshotStore) record(reqs ...storage.PutRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range reqs {
		fi, err := os.Stat(r.SourcePath)
		if err == nil {
			s.puts[path.Base(r.URL)] = snapshotPut{r.Snapshot, fi.Mode().Perm()}
		}
	}
}

func (s *snapshotStore) Put(ctx context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	s.record(*req)
	return s.Store.Put(ctx, req)
}

func (s *snapshotStore) PutBatch(ctx context.Context, req *storage.PutBatchRequest) (*storage.PutResponse, error) {
	s.record(req.Items...)
	return s.Store.PutBatch(ctx, req)
}

// The core hands the store each artifact's read-only snapshot marked as
// one (so a file store may link it rather than copy it), and nothing else:
// the attestation it writes is not.
func TestPublishMarksSnapshots(t *testing.T) {
	p := newProject(t, baseConfig)
	st := &snapshotStore{Store: filestore.New(), puts: map[string]snapshotPut{}}
	if o := runProject(t, p, WithHost(hostWith(t, st))); o.err != nil {
		t.Fatal(o.err)
	}
	if got := st.puts["out.txt"]; !got.snapshot || got.mode&0o222 != 0 {
		t.Errorf("the artifact was put as %+v, want a read-only snapshot marked as one", got)
	}
	if got, ok := st.puts[StatementName]; !ok || got.snapshot {
		t.Errorf("the attestation was put as %+v (seen %v), want it not marked", got, ok)
	}
}

// changingStore fails the first reads of the attestation as a store does
// while another client keeps replacing it (storage.ErrChanged).
type changingStore struct {
	*filestore.Store
	changes atomic.Int64 // reads left to fail
	reads   atomic.Int64
}

func (s *changingStore) Get(ctx context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	if path.Base(req.URL) == StatementName {
		s.reads.Add(1)
		if s.changes.Add(-1) >= 0 {
			return nil, fmt.Errorf("%s: the object %w", req.URL, storage.ErrChanged)
		}
	}
	return s.Store.Get(ctx, req)
}

// An attestation that keeps changing while it is read is another run of
// the same key publishing: the cache lookup takes it as a miss, and the
// check after publishing looks again after a pause, as for any concurrent
// publish; neither fails the run.
func TestPublishedAttestationChangingIsAConcurrentRun(t *testing.T) {
	p := newProject(t, baseConfig)
	st := &changingStore{Store: filestore.New()}
	st.changes.Store(2)
	o := runProject(t, p, WithHost(hostWith(t, st)))
	if o.err != nil {
		t.Fatalf("the run failed where another run was writing its attestation: %v", o.err)
	}
	if got := st.reads.Load(); got != 3 {
		t.Errorf("the attestation was read %d times, want 3 (the lookup's and the check's, which changed, then the check's again)", got)
	}
}
