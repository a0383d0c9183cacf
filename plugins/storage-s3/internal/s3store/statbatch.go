package s3store

import (
	"context"
	"fmt"
	"path"

	"golang.org/x/sync/errgroup"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

var _ storage.StatBatcher = (*Store)(nil)

// putRecord is what a single PUT of this process learned of the object it
// wrote: its ETag, and the SHA-256 the server verified against the bytes
// and echoed back ("sha256:<hex>").
type putRecord struct {
	etag, digest string
	size         int64
}

func (s *Store) remember(bucket, key string, r putRecord) { s.puts.Store(bucket+"/"+key, r) }
func (s *Store) forget(bucket, key string)                { s.puts.Delete(bucket + "/" + key) }

// recorded is the record of the last PUT of this process to key, if any.
func (s *Store) recorded(bucket, key string) (putRecord, bool) {
	r, ok := s.puts.Load(bucket + "/" + key)
	rec, _ := r.(putRecord)
	return rec, ok
}

// minListed is how many objects of one folder a batch must ask about
// before a listing replaces their HEADs.
const minListed = 8

// StatBatch answers a batch as Stat does, item by item, with fewer
// requests for objects this process has just put (the core's check after
// publishing): their folder is listed, 1,000 objects a request, and an
// object listed with the ETag its PUT got back is the object that PUT
// wrote, whose SHA-256 the server verified then; writing it again would
// have given it another ETag, unless the bytes are the same. Every other
// item, and any item of a folder whose listing fails, gets a HEAD.
func (s *Store) StatBatch(ctx context.Context, req *storage.StatBatchRequest) (*storage.StatBatchResponse, error) {
	results := make([]storage.StatResult, len(req.Items))
	done := make([]bool, len(req.Items))
	type folder struct {
		bucket, prefix string
		names          map[string]int // name in the folder → item
		first, last    string
	}
	folders := map[string]*folder{}
	for i, it := range req.Items {
		if checkOptions(it.Options) != nil {
			continue
		}
		loc, err := parseURL(it.URL)
		if err != nil || loc.isPrefix() {
			continue
		}
		if _, ok := s.recorded(loc.bucket, loc.key); !ok {
			continue
		}
		dir, name := path.Split(loc.key)
		f := folders[loc.bucket+"/"+dir]
		if f == nil {
			f = &folder{bucket: loc.bucket, prefix: dir, names: map[string]int{}}
			folders[loc.bucket+"/"+dir] = f
		}
		if len(f.names) == 0 || name < f.first {
			f.first = name
		}
		f.names[name] = i
		f.last = max(f.last, name)
	}
	for _, f := range folders {
		if len(f.names) < minListed {
			continue
		}
		// The listing starts after the first wanted name, which gets a
		// HEAD: a batch of a big folder lists its own part of it only.
		delete(f.names, f.first)
		err := s.listFolder(ctx, f.bucket, f.prefix, f.first, f.last, len(f.names), func(name string, o objectInfo) {
			i, ok := f.names[name]
			if !ok {
				return
			}
			if rec, ok := s.recorded(f.bucket, f.prefix+name); ok && rec.etag == o.etag && rec.size == o.size {
				results[i].Stat = &storage.StatResponse{Size: o.size, ModTime: o.modTime, ContentDigest: rec.digest, Version: versionOf(o.etag, o.modTime)}
				done[i] = true
			}
		})
		if err != nil { // the HEADs below answer instead
			for _, i := range f.names {
				results[i], done[i] = storage.StatResult{}, false
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(metaConcurrency)
	for i := range req.Items {
		if done[i] {
			continue
		}
		g.Go(func() error {
			results[i].Stat, results[i].Err = s.Stat(gctx, &req.Items[i])
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &storage.StatBatchResponse{Results: results}, nil
}

// listFolder calls each for the objects directly under prefix, in name
// order, after after and up to last; it gives up past a few times the
// wanted names.
func (s *Store) listFolder(ctx context.Context, bucket, prefix, after, last string, wanted int, each func(name string, o objectInfo)) error {
	c, err := s.s3Clients(ctx)
	if err != nil {
		return err
	}
	url := "s3://" + bucket + "/" + prefix
	budget := 4*wanted + 4000
	in := s.folderListing(bucket, prefix, after)
	for {
		objs, more, err := s.folderPage(ctx, c, url, prefix, in)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if budget--; budget < 0 {
				return fmt.Errorf("%s: more objects than %d wanted ones", url, wanted)
			}
			name := o.key[len(prefix):]
			each(name, o)
			if name >= last {
				return nil
			}
		}
		if !more {
			return nil
		}
	}
}
