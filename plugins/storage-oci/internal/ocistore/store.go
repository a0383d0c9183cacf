package ocistore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Store is the oci:// backend. It keeps no state between calls: each call
// builds its registry client from the call's options, so the core may call
// it concurrently with different credentials.
type Store struct {
	userAgent string
	jobs      int
	keychain  authn.Keychain
}

var (
	_ storage.Storage        = (*Store)(nil)
	_ storage.Attacher       = (*Store)(nil)
	_ storage.AttachedReader = (*Store)(nil)
	_ plugin.Capabler        = (*Store)(nil)
	_ plugin.Schemer         = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithUserAgent sets the User-Agent the registry sees. Default: none beyond
// go-containerregistry's own.
func WithUserAgent(ua string) Option { return func(s *Store) { s.userAgent = ua } }

// WithKeychain resolves the account of a registry when the options give
// none. Default: authn.DefaultKeychain (the docker config,
// $DOCKER_CONFIG/config.json or ~/.docker/config.json, its credential
// helpers, and podman's auth.json).
func WithKeychain(k authn.Keychain) Option { return func(s *Store) { s.keychain = k } }

// DefaultJobs is how many blobs one call moves at once.
const DefaultJobs = 4

// New returns the oci:// backend. It reads no configuration until a call,
// so `describe` works anywhere.
func New(opts ...Option) *Store {
	s := &Store{jobs: DefaultJobs, keychain: authn.DefaultKeychain}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Capabilities announces Get and Put of files and trees, progress,
// Attach (with the manifest digest in Stat) and content digests (a file's
// blob digest); it serves container images (scheme-less image references
// resolve to oci://).
func (*Store) Capabilities() []string {
	return []string{storage.CapabilityAttach, storage.CapabilityAttached, storage.CapabilityContentDigest, storage.CapabilityImages,
		"storage:get-dir", "storage:progress", "storage:put", "storage:put-dir"}
}

// ConfigSchema publishes the options: the account (username, and password
// or token, both writeOnly), insecure and platform.
func (*Store) ConfigSchema() json.RawMessage { return json.RawMessage(schema) }

// call is one request's parsed URL and options, and the registry client
// options they give.
type call struct {
	loc  location
	cfg  *config
	opts []remote.Option
}

// begin checks a request's options and URL.
func (s *Store) begin(ctx context.Context, rawURL string, options map[string]string) (*call, error) {
	cfg, err := parseOptions(options)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shownURL(rawURL), err)
	}
	loc, err := parseURL(rawURL, cfg.insecure)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithJobs(s.jobs)}
	if s.userAgent != "" {
		opts = append(opts, remote.WithUserAgent(s.userAgent))
	}
	if cfg.auth != nil {
		opts = append(opts, remote.WithAuth(cfg.auth))
	} else {
		opts = append(opts, remote.WithAuthFromKeychain(s.keychain))
	}
	return &call{loc: loc, cfg: cfg, opts: opts}, nil
}

// fail is the call's error for step, without its secrets.
func (c *call) fail(step string, err error) error { return fail(step, c.cfg, err) }

// open begins a call that reads: it resolves the URL to its manifest with
// a client that authenticates once for all the call's requests.
func (s *Store) open(ctx context.Context, rawURL string, options map[string]string) (*call, *remote.Puller, *target, error) {
	c, err := s.begin(ctx, rawURL, options)
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := remote.NewPuller(c.opts...)
	if err != nil {
		return nil, nil, nil, c.fail("connecting to the registry", err)
	}
	t, err := resolve(ctx, p, c)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, p, t, nil
}

// Stat describes what the URL names: a file, or a tree (a stored tree, or
// an image, whose Size is the total of the blobs Get would write), with
// the manifest digest the URL resolves to.
func (s *Store) Stat(ctx context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	c, p, t, err := s.open(ctx, req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	if t.artifact != nil {
		resp := &storage.StatResponse{IsDir: t.artifact.dir, Size: t.artifact.size, Digest: t.desc.Digest.String()}
		if !t.artifact.dir {
			// A file is one blob, stored under its digest: the registry
			// checked the bytes against it when they were pushed, and
			// would not take the manifest without the blob.
			resp.ContentDigest = t.artifact.files[0].desc.Digest.String()
		}
		return resp, nil
	}
	plan, err := planImage(ctx, p, c, t.desc)
	if err != nil {
		return nil, err
	}
	return &storage.StatResponse{IsDir: true, Size: plan.size, Digest: t.desc.Digest.String()}, nil
}

// Get writes what the URL names to req.DestPath: a stored file or tree as
// it was put, anything else (an image, an image index) as an OCI image
// layout.
func (s *Store) Get(ctx context.Context, req *storage.GetRequest) (resp *storage.GetResponse, err error) {
	c, p, t, err := s.open(ctx, req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(req.DestPath) // leave nothing that could pass for a result
		}
	}()
	if t.artifact != nil {
		resp, err = s.getArtifact(ctx, p, c, t.artifact, req)
	} else {
		resp, err = s.getImage(ctx, p, c, t.desc, req)
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	resp.Name = c.loc.name
	plugin.Logger().Debug("get", "url", c.loc.redacted, "digest", t.desc.Digest.String(), "bytes", resp.Bytes)
	return resp, nil
}

// Put stores req.SourcePath, a file or a tree, as an artifact at the URL's
// tag (a digest names content and cannot be pushed to); an OCI image
// layout put to a tag is pushed as its image (putLayout).
func (s *Store) Put(ctx context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	c, err := s.begin(ctx, req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	if c.loc.byDigest() {
		return nil, fmt.Errorf("%w: %s: a digest names content already there: put to a tag (REPO:TAG) or an object (REPO//PATH)", storage.ErrInvalidURL, c.loc.shown)
	}
	// An OCI image layout put to a tag is pushed as the image it holds:
	// what Get of an image writes, Put gives back.
	if c.loc.object == "" && isLayout(req.SourcePath) {
		return s.putLayout(ctx, c, req)
	}
	if c.cfg.platform != nil {
		return nil, fmt.Errorf("%s: option platform chooses an image of an index or an OCI layout: Put of files takes none", c.loc.shown)
	}
	return s.put(ctx, c, req)
}
