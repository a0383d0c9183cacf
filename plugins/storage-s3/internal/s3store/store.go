package s3store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Store is the s3:// backend. The core may call it concurrently; all calls
// share one S3 client and one budget of transfer buffers.
type Store struct {
	opts options

	mu      sync.Mutex
	clients *clients

	// meta holds one token per metadata request allowed in flight, across
	// all calls: a batch of Stats from the core, however many at once,
	// keeps to the connections the metadata pool holds.
	meta chan struct{}

	// slots holds one copy buffer per request allowed to move data at once:
	// whatever the number of calls, files and parts, memory for data stays
	// at concurrency × 1 MiB.
	slots chan []byte

	// listPage is the keys a List page asks for (listPage; tests lower it).
	listPage int32

	// puts holds a putRecord by bucket+"/"+key for each object this
	// process put in one request (see StatBatch).
	puts sync.Map
}

var (
	_ storage.Storage = (*Store)(nil)
	_ plugin.Capabler = (*Store)(nil)
	_ plugin.Schemer  = (*Store)(nil)
)

// New returns the s3:// backend. It reads no configuration until its first
// call, so `describe` works without AWS settings.
func New(opts ...Option) (*Store, error) {
	o := options{getenv: os.Getenv, partSize: DefaultPartSize, concurrency: DefaultConcurrency}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	s := &Store{opts: o, slots: make(chan []byte, o.concurrency), meta: make(chan struct{}, metaConcurrency), listPage: listPage}
	for range o.concurrency {
		s.slots <- nil // allocated on first use
	}
	return s, nil
}

// Capabilities announces Get and Put of objects and trees, progress, and
// content digests (S3's SHA-256 checksums).
func (*Store) Capabilities() []string {
	return []string{storage.CapabilityGetDir, storage.CapabilityProgress, storage.CapabilityPut, storage.CapabilityPutDir, storage.CapabilityContentDigest}
}

// ConfigSchema says the backend takes no options: its settings come from the
// AWS configuration and the MMBUILD_S3_* variables.
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
	return fmt.Errorf("s3 storage takes no options, got %s (settings come from the AWS configuration and MMBUILD_S3_* variables)",
		strings.Join(keys, ", "))
}

// s3Clients returns the shared clients, building them on first use.
func (s *Store) s3Clients(ctx context.Context) (*clients, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients == nil {
		c, err := newClients(ctx, &s.opts)
		if err != nil {
			return nil, err
		}
		s.clients = &c
	}
	return s.clients, nil
}

// resolve finds what loc names over the metadata client, as one of at
// most metaConcurrency metadata requests in flight.
func (s *Store) resolve(ctx context.Context, c *clients, loc location) (*target, error) {
	select {
	case s.meta <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.meta }()
	return resolve(ctx, c.meta, loc)
}

// acquire waits for a transfer slot and returns its buffer.
func (s *Store) acquire(ctx context.Context) ([]byte, error) {
	select {
	case buf := <-s.slots:
		if buf == nil {
			buf = make([]byte, copyBufferSize)
		}
		return buf, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Store) release(buf []byte) { s.slots <- buf }

// begin checks a request's options and URL and returns the clients.
func (s *Store) begin(ctx context.Context, rawURL string, opts map[string]string) (*clients, location, error) {
	if err := checkOptions(opts); err != nil {
		return nil, location{}, err
	}
	loc, err := parseURL(rawURL)
	if err != nil {
		return nil, location{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, location{}, err
	}
	c, err := s.s3Clients(ctx)
	if err != nil {
		return nil, location{}, err
	}
	return c, loc, nil
}

// Stat describes the object or tree at req.URL. A tree's Size is the total
// of the objects Get would fetch; its ModTime the newest of theirs.
func (s *Store) Stat(ctx context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	c, loc, err := s.begin(ctx, req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	t, err := s.resolve(ctx, c, loc)
	if err != nil {
		return nil, err
	}
	if !t.dir {
		return &storage.StatResponse{Size: t.object.size, ModTime: t.object.modTime, ContentDigest: t.object.digest,
			Version: versionOf(t.object.etag, t.object.modTime)}, nil
	}
	resp := &storage.StatResponse{IsDir: true}
	for _, o := range t.objects {
		resp.Size += o.size
		if o.modTime.After(resp.ModTime) {
			resp.ModTime = o.modTime
		}
	}
	return resp, nil
}

// maxGetAttempts bounds how often Get starts again when the object was
// replaced while it was read.
const maxGetAttempts = 3

// Get downloads the object or tree at req.URL to req.DestPath. An object
// another client replaces while it is read (its ETag changes) is read
// again from the start, a few times: what Get writes is always one
// version of it, whole.
func (s *Store) Get(ctx context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	for attempt := 1; ; attempt++ {
		resp, err := s.get(ctx, req)
		if !errors.Is(err, errChanged) || attempt == maxGetAttempts {
			return resp, err
		}
		if rerr := os.RemoveAll(req.DestPath); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		plugin.Logger().Debug("the object changed while it was read: reading it again", "url", req.URL)
	}
}

func (s *Store) get(ctx context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	c, loc, err := s.begin(ctx, req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	t, err := s.resolve(ctx, c, loc)
	if err != nil {
		return nil, err
	}
	if t.dir {
		return s.getTree(ctx, c.data, loc, t, req)
	}
	p := progress.NewMeter(req.Report, t.object.size)
	if err := s.getFile(ctx, c.data, loc.bucket, t.object, req.DestPath, p); err != nil {
		return nil, err
	}
	plugin.Logger().Debug("get", "url", loc.url, "bytes", t.object.size)
	return &storage.GetResponse{Bytes: t.object.size, Files: 1}, nil
}

// Put uploads req.SourcePath, a file or a tree, to req.URL.
func (s *Store) Put(ctx context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	c, loc, err := s.begin(ctx, req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(req.SourcePath)
	if err != nil {
		return nil, fmt.Errorf("reading source: %w", err)
	}
	switch {
	case fi.IsDir():
		return s.putTree(ctx, c.data, loc, req)
	case fi.Mode().IsRegular():
		return s.putFile(ctx, c.data, loc, req)
	default:
		return nil, fmt.Errorf("reading source %s: %v is neither a file nor a directory: %w", req.SourcePath, fi.Mode().Type(), storage.ErrUnsafePath)
	}
}

// Warm builds the S3 clients the calls share (the AWS configuration and
// the SDK's endpoint rules: ~10 ms), so that the first call does not wait
// for them where Warm runs first. A call made meanwhile waits for Warm's
// clients; an error is left for the first call to report.
func (s *Store) Warm() { _, _ = s.s3Clients(context.Background()) }
