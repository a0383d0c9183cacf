package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mmbuild/mmbuild/sdk/internal/pb"
	"github.com/mmbuild/mmbuild/sdk/internal/wire"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// batchConcurrency bounds how many items of a batch the SDK serves at once
// for a component that does not implement storage.Batcher: enough to
// overlap a remote store's round trips, few enough for a shared machine.
const batchConcurrency = 8

// maxBatchItems bounds the items of one batch a plugin accepts; the host
// splits longer lists (a message stays under 1 MiB).
const maxBatchItems = 4096

// group is the items of a batch one component serves, by their index in
// the request.
type group struct {
	st    storage.Storage
	index []int
}

// groups splits urls by the component serving each, in order of first use.
// An item no component serves gets its error in bad.
func (s *storageServer) groups(urls []string) (gs []*group, bad map[int]error) {
	byStorage := map[storage.Storage]*group{}
	for i, u := range urls {
		st, err := s.pick(u)
		if err != nil {
			if bad == nil {
				bad = map[int]error{}
			}
			bad[i] = err
			continue
		}
		g := byStorage[st]
		if g == nil {
			g = &group{st: st}
			byStorage[st] = g
			gs = append(gs, g)
		}
		g.index = append(g.index, i)
	}
	return gs, bad
}

func (s *storageServer) StatBatch(ctx context.Context, req *pb.StatBatchRequest) (*pb.StatBatchResponse, error) {
	if len(req.Items) > maxBatchItems {
		return nil, wire.ToStatus(fmt.Errorf("%w: a batch of %d items, more than %d", storage.ErrInvalidURL, len(req.Items), maxBatchItems))
	}
	urls := make([]string, len(req.Items))
	for i, it := range req.Items {
		urls[i] = it.Url
	}
	results := make([]storage.StatResult, len(req.Items))
	gs, bad := s.groups(urls)
	for i, err := range bad {
		results[i].Err = err
	}
	for _, g := range gs {
		items := make([]storage.StatRequest, len(g.index))
		for j, i := range g.index {
			items[j] = storage.StatRequest{URL: req.Items[i].Url, Options: req.Items[i].Options}
		}
		out, err := statBatch(ctx, g.st, items)
		if err != nil {
			return nil, wire.ToStatus(err)
		}
		for j, i := range g.index {
			results[i] = out[j]
		}
	}
	resp := &pb.StatBatchResponse{Results: make([]*pb.StatResult, len(results))}
	for i, r := range results {
		switch {
		case r.Err != nil:
			code, reason, msg := wire.ToItem(r.Err)
			resp.Results[i] = &pb.StatResult{ErrorCode: code, ErrorReason: reason, ErrorMessage: msg}
		case r.Stat == nil:
			resp.Results[i] = &pb.StatResult{ErrorCode: 2, ErrorMessage: "the plugin gave no result for this item"}
		default:
			resp.Results[i] = &pb.StatResult{Stat: statToPB(r.Stat)}
		}
	}
	return resp, nil
}

// statBatch answers items through st's own StatBatch, or by calling Stat
// for each, batchConcurrency at a time.
func statBatch(ctx context.Context, st storage.Storage, items []storage.StatRequest) ([]storage.StatResult, error) {
	if b, ok := st.(storage.StatBatcher); ok {
		out, err := b.StatBatch(ctx, &storage.StatBatchRequest{Items: items})
		if err != nil {
			return nil, err
		}
		if len(out.Results) != len(items) {
			return nil, fmt.Errorf("the plugin's StatBatch gave %d results for %d items", len(out.Results), len(items))
		}
		return out.Results, nil
	}
	results := make([]storage.StatResult, len(items))
	_ = forEach(ctx, len(items), func(ctx context.Context, i int) error {
		results[i].Stat, results[i].Err = st.Stat(ctx, &items[i])
		return nil
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

func (s *storageServer) PutBatch(req *pb.PutBatchRequest, stream pb.Storage_PutBatchServer) error {
	if len(req.Items) > maxBatchItems {
		return wire.ToStatus(fmt.Errorf("%w: a batch of %d items, more than %d", storage.ErrInvalidURL, len(req.Items), maxBatchItems))
	}
	urls := make([]string, len(req.Items))
	for i, it := range req.Items {
		urls[i] = it.Url
	}
	gs, bad := s.groups(urls)
	for i := range req.Items { // the first bad item, in order
		if err := bad[i]; err != nil {
			return wire.ToStatus(&storage.ItemError{Index: i, Err: err})
		}
	}
	var mu sync.Mutex
	send := func(ev *pb.TransferEvent) error { mu.Lock(); defer mu.Unlock(); return stream.Send(ev) }
	report := progressSender(send)
	total := &storage.PutResponse{}
	for _, g := range gs {
		items := make([]storage.PutRequest, len(g.index))
		for j, i := range g.index {
			it := req.Items[i]
			items[j] = storage.PutRequest{SourcePath: it.SourcePath, URL: it.Url, Options: it.Options, Digest: it.Digest, Snapshot: it.Snapshot}
		}
		resp, err := putBatch(stream.Context(), g.st, &storage.PutBatchRequest{Items: items, Progress: report})
		if err != nil {
			// The group's item that failed, by its place in the request.
			if ie := (*storage.ItemError)(nil); errors.As(err, &ie) && ie.Index >= 0 && ie.Index < len(g.index) {
				err = &storage.ItemError{Index: g.index[ie.Index], Err: ie.Err}
			}
			return wire.ToStatus(err)
		}
		total.Bytes += resp.Bytes
		total.Files += resp.Files
	}
	return send(&pb.TransferEvent{Event: &pb.TransferEvent_Result{Result: &pb.TransferResult{Bytes: total.Bytes, Files: total.Files}}})
}

// putBatch puts the items through st's own PutBatch, or by calling Put for
// each, batchConcurrency at a time; the first failure cancels the rest.
func putBatch(ctx context.Context, st storage.Storage, req *storage.PutBatchRequest) (*storage.PutResponse, error) {
	if b, ok := st.(storage.PutBatcher); ok {
		return b.PutBatch(ctx, req)
	}
	var mu sync.Mutex
	done := make([]int64, len(req.Items))
	var sum int64
	total := &storage.PutResponse{}
	err := forEach(ctx, len(req.Items), func(ctx context.Context, i int) error {
		item := req.Items[i]
		item.Progress = func(p storage.Progress) {
			mu.Lock()
			sum += p.DoneBytes - done[i]
			done[i] = p.DoneBytes
			snapshot := storage.Progress{DoneBytes: sum, TotalBytes: -1, Current: p.Current}
			mu.Unlock()
			req.Report(snapshot)
		}
		resp, err := st.Put(ctx, &item)
		if err != nil {
			return &storage.ItemError{Index: i, Err: err}
		}
		mu.Lock()
		total.Bytes += resp.Bytes
		total.Files += resp.Files
		mu.Unlock()
		return nil
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = errors.Join(cerr, err)
		}
		return nil, err
	}
	return total, nil
}

// forEach calls fn for 0..n-1, batchConcurrency at a time, and returns the
// first error, after which it starts no more calls and cancels the context
// of those running (the SDK keeps its dependencies few: no errgroup).
func forEach(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, batchConcurrency)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
