package remote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// maxBatch is how many items one batch call carries: a request of this many
// URLs and their options stays well under the 1 MiB a message may take.
const maxBatch = 1000

// maxParallel bounds the calls in flight at once where a plugin offers no
// batch (a plugin built before batches), and the batches in flight.
const maxParallel = 8

// StatItem is one object to describe: its URL and the use's options.
type StatItem struct {
	URL     string
	Options map[string]string
}

// StatResult is one item's answer: Stat, or Err (wrapping ErrNotFound for a
// missing object, as Stat's).
type StatResult struct {
	Stat *storage.StatResponse
	Err  error
}

// StatMany describes every item, in order: one round trip per plugin for
// each maxBatch items where the plugin serves batches, else one call per
// item, a few at a time. The returned error is for the whole (a batch the
// plugin failed, a cancelled context); an item's own error is in its result.
func (s *Store) StatMany(ctx context.Context, items []StatItem) ([]StatResult, error) {
	results := make([]StatResult, len(items))
	groups, err := s.byBackend(len(items), func(i int) string { return items[i].URL })
	if err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallel)
	for _, grp := range groups {
		bat, ok := grp.batcher()
		if !ok {
			for _, i := range grp.index {
				g.Go(func() error {
					results[i].Stat, results[i].Err = s.Stat(gctx, items[i].URL, items[i].Options)
					return nil
				})
			}
			continue
		}
		for chunk := range slices.Chunk(grp.index, maxBatch) {
			g.Go(func() error {
				req := &storage.StatBatchRequest{Items: make([]storage.StatRequest, len(chunk))}
				for j, i := range chunk {
					req.Items[j] = storage.StatRequest{URL: items[i].URL, Options: s.options(items[i].URL, items[i].Options)}
				}
				resp, err := bat.StatBatch(gctx, req)
				if err != nil {
					return s.failMany("resolving", itemURLs(chunk, func(i int) string { return items[i].URL }), grp.b, err)
				}
				if len(resp.Results) != len(chunk) {
					return fmt.Errorf("the plugin %s answered %d of %d items", grp.b.Name, len(resp.Results), len(chunk))
				}
				for j, i := range chunk {
					results[i] = StatResult{Stat: resp.Results[j].Stat}
					if err := resp.Results[j].Err; err != nil {
						results[i] = StatResult{Err: s.fail("resolving", items[i].URL, grp.b, err)}
					}
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return results, nil
}

// PutItem is one local file to put at a URL.
type PutItem struct {
	Path, URL string
	Options   map[string]string
	// Digest is the core's digest of the file, "sha256:<hex>" ("" for a
	// tree), handed to the plugin (storage.PutRequest.Digest).
	Digest string
	// Snapshot says Path is a read-only snapshot of the core's
	// (storage.PutRequest.Snapshot).
	Snapshot bool
}

// PutMany puts every item, or fails with the first error (what was put
// stays; a failure tied to one item is a *storage.ItemError with its index
// in items): one round trip per plugin for each maxBatch items where the
// plugin serves batches, else one call per item, a few at a time.
func (s *Store) PutMany(ctx context.Context, items []PutItem) error {
	groups, err := s.byBackend(len(items), func(i int) string { return items[i].URL })
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallel)
	for _, grp := range groups {
		bat, ok := grp.batcher()
		if !ok || len(grp.index) == 1 {
			for _, i := range grp.index {
				g.Go(func() error {
					it := items[i]
					_, err := s.put(gctx, grp.b, &storage.PutRequest{SourcePath: it.Path, URL: it.URL, Options: s.options(it.URL, it.Options), Digest: it.Digest, Snapshot: it.Snapshot})
					if err != nil {
						return &storage.ItemError{Index: i, Err: err}
					}
					return nil
				})
			}
			continue
		}
		for chunk := range slices.Chunk(grp.index, maxBatch) {
			g.Go(func() error {
				urls := itemURLs(chunk, func(i int) string { return items[i].URL })
				shown := fmt.Sprintf("%d files to %s", len(chunk), s.shown(commonPrefix(urls)))
				req := &storage.PutBatchRequest{Items: make([]storage.PutRequest, len(chunk)), Progress: s.progressFunc("put", shown)}
				for j, i := range chunk {
					it := items[i]
					req.Items[j] = storage.PutRequest{SourcePath: it.Path, URL: it.URL, Options: s.options(it.URL, it.Options), Digest: it.Digest, Snapshot: it.Snapshot}
				}
				resp, err := bat.PutBatch(gctx, req)
				var ie *storage.ItemError
				switch {
				case errors.As(err, &ie) && ie.Index >= 0 && ie.Index < len(chunk):
					// The plugin named the item: the error is that file's.
					i := chunk[ie.Index]
					return &storage.ItemError{Index: i, Err: s.fail("putting", items[i].URL, grp.b, ie.Err)}
				case err != nil:
					return s.failMany("putting", urls, grp.b, err)
				}
				s.progress.Finish("put", shown, resp.Bytes)
				return nil
			})
		}
	}
	return g.Wait()
}

// group is the items one backend serves, by index.
type group struct {
	b     Backend
	index []int
}

// batcher is the group's plugin as a storage.Batcher, when it serves
// batches.
func (g *group) batcher() (storage.Batcher, bool) {
	bat, ok := g.b.Storage.(storage.Batcher)
	return bat, ok && slices.Contains(g.b.Capabilities, storage.CapabilityBatch)
}

// byBackend groups n items by the plugin serving url(i), in order of first
// use.
func (s *Store) byBackend(n int, url func(int) string) ([]*group, error) {
	var groups []*group
	byName := map[string]*group{}
	for i := range n {
		b, err := s.backend(url(i))
		if err != nil {
			return nil, err
		}
		g := byName[b.Name]
		if g == nil {
			g = &group{b: b}
			byName[b.Name] = g
			groups = append(groups, g)
		}
		g.index = append(g.index, i)
	}
	return groups, nil
}

func itemURLs(index []int, url func(int) string) []string {
	out := make([]string, len(index))
	for j, i := range index {
		out[j] = url(i)
	}
	return out
}

// commonPrefix is the longest common prefix of urls, cut after its last
// "/": the folder a batch goes to, for messages.
func commonPrefix(urls []string) string {
	p := urls[0]
	for _, u := range urls[1:] {
		for !strings.HasPrefix(u, p) {
			p = p[:len(p)-1]
		}
	}
	if i := strings.LastIndex(p, "/"); i >= 0 {
		p = p[:i+1]
	}
	return p
}

// failMany is fail for a batch: the error names the folder of its items,
// and any item's URL the plugin echoed is shown redacted.
func (s *Store) failMany(op string, urls []string, b Backend, err error) error {
	msg := err.Error()
	reworded := false
	for _, u := range urls {
		if strings.Contains(msg, u) {
			msg = strings.ReplaceAll(msg, u, s.shown(u))
			reworded = true
		}
	}
	if reworded {
		err = &rewordedError{msg: msg, err: err}
	}
	return s.fail(op, commonPrefix(urls), b, err)
}
