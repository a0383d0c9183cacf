package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/build/progress"
	"github.com/mmbuild/mmbuild/core/build/redact"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// ErrNotFound reports an object the backend does not have (a plugin
// returns fs.ErrNotExist for it, which the error still wraps).
var ErrNotFound = errors.New("not found")

type notFoundError struct{ err error }

func (e *notFoundError) Error() string        { return "not found: " + e.err.Error() }
func (e *notFoundError) Unwrap() error        { return e.err }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

// Backend is a started storage plugin.
type Backend struct {
	Name    string // plugin name, for messages
	Storage storage.Storage
	// Explain turns a call's error into one that says the plugin crashed
	// when it did; nil leaves errors as they are.
	Explain func(error) error
	// Capabilities are the optional abilities the plugin announces
	// ("storage:revision", …).
	Capabilities []string
}

// Capable reports whether the plugin serving rawURL announces capability.
func (s *Store) Capable(rawURL, capability string) bool {
	b, err := s.backend(rawURL)
	return err == nil && slices.Contains(b.Capabilities, capability)
}

// Resolver returns the backend serving a URL scheme.
type Resolver func(scheme string) (Backend, error)

// Store gets and puts objects by URL. Its methods are safe for concurrent
// use.
type Store struct {
	resolve  Resolver
	creds    CredentialFunc
	progress progress.Reporter
	redact   *redact.Redactor
}

// New returns a Store over the backends resolve returns. red may be nil (no
// secret values to scrub), rep may be nil (no progress).
func New(resolve Resolver, rep progress.Reporter, red *redact.Redactor) *Store {
	if rep == nil {
		rep = progress.Nop{}
	}
	if red == nil {
		red = redact.New()
	}
	return &Store{resolve: resolve, creds: func(string) map[string]string { return nil }, progress: rep, redact: red}
}

// WithCredentials returns a copy of s that hands each call the options
// creds returns for its URL.
func (s *Store) WithCredentials(creds CredentialFunc) *Store {
	c := *s
	c.creds = creds
	return &c
}

// Object is what a Get wrote.
type Object struct {
	storage.GetResponse
	Plugin string // the plugin that served it
}

// GetOption configures one Get.
type GetOption func(*getOptions)

type getOptions struct {
	quiet   bool
	options map[string]string
	max     int64
}

// WithMaxBytes stops the transfer, and fails it with ErrTooLarge, as soon
// as it has written more than n bytes. The core watches what lands at the
// destination itself, so a plugin that reports no progress is bounded too.
func WithMaxBytes(n int64) GetOption { return func(o *getOptions) { o.max = n } }

// ErrTooLarge reports an object larger than its limit.
var ErrTooLarge = errors.New("larger than its size limit")

// Quiet reports no progress for this call (small objects the user did not
// name: a cached attestation, a secret).
func Quiet() GetOption { return func(o *getOptions) { o.quiet = true } }

// WithOptions sends the config's options for this use of the plugin,
// beside the URL's credentials.
func WithOptions(opts map[string]string) GetOption {
	return func(o *getOptions) { o.options = opts }
}

// options merges a use's options with the URL's credentials (CheckOptions
// refuses an option set both ways before any run).
func (s *Store) options(rawURL string, use map[string]string) map[string]string {
	creds := s.creds(rawURL)
	if len(use) == 0 {
		return creds
	}
	out := make(map[string]string, len(use)+len(creds))
	for k, v := range use {
		out[k] = v
	}
	for k, v := range creds {
		out[k] = v
	}
	return out
}

// Get writes the object at rawURL to dest (a path that does not exist yet,
// in a folder the caller owns). A missing object is an error wrapping
// ErrNotFound (and fs.ErrNotExist).
func (s *Store) Get(ctx context.Context, rawURL, dest string, opts ...GetOption) (*Object, error) {
	var o getOptions
	for _, opt := range opts {
		opt(&o)
	}
	b, err := s.backend(rawURL)
	if err != nil {
		return nil, err
	}
	shown := s.shown(rawURL)
	req := &storage.GetRequest{URL: rawURL, DestPath: dest, Options: s.options(rawURL, o.options)}
	if !o.quiet {
		req.Progress = s.progressFunc("get", shown)
	}
	ctx, stopWatch := watchSize(ctx, req, dest, o.max)
	resp, err := b.Storage.Get(ctx, req)
	if tooLarge := stopWatch(); tooLarge || (err == nil && o.max > 0 && resp.Bytes > o.max) {
		_ = os.RemoveAll(dest)
		return nil, s.redact.Err(&Error{Op: "getting", URL: shown, Err: fmt.Errorf("%w of %d bytes (maxSize)", ErrTooLarge, o.max)})
	}
	if err != nil {
		return nil, s.fail("getting", rawURL, b, err)
	}
	if !o.quiet {
		s.progress.Finish("get", shown, resp.Bytes)
	}
	return &Object{GetResponse: *resp, Plugin: b.Name}, nil
}

// Put uploads the file or tree at src to rawURL, with the use's options
// (nil for none).
func (s *Store) Put(ctx context.Context, src, rawURL string, use map[string]string) (*storage.PutResponse, error) {
	b, err := s.backend(rawURL)
	if err != nil {
		return nil, err
	}
	return s.put(ctx, b, &storage.PutRequest{SourcePath: src, URL: rawURL, Options: s.options(rawURL, use)})
}

// put sends req (its options merged already) to b, with progress.
func (s *Store) put(ctx context.Context, b Backend, req *storage.PutRequest) (*storage.PutResponse, error) {
	shown := s.shown(req.URL)
	req.Progress = s.progressFunc("put", shown)
	resp, err := b.Storage.Put(ctx, req)
	if err != nil {
		return nil, s.fail("putting", req.URL, b, err)
	}
	s.progress.Finish("put", shown, resp.Bytes)
	return resp, nil
}

// Stat describes the object at rawURL, with the use's options (nil for
// none). A missing object is an error wrapping ErrNotFound.
func (s *Store) Stat(ctx context.Context, rawURL string, use map[string]string) (*storage.StatResponse, error) {
	b, err := s.backend(rawURL)
	if err != nil {
		return nil, err
	}
	resp, err := b.Storage.Stat(ctx, &storage.StatRequest{URL: rawURL, Options: s.options(rawURL, use)})
	if err != nil {
		return nil, s.fail("resolving", rawURL, b, err)
	}
	return resp, nil
}

// Attach stores the file req.SourcePath attached to req.SubjectURL (with
// that URL's credentials added to req.Options), through a plugin that
// implements storage.Attacher; any other fails with errors.ErrUnsupported.
func (s *Store) Attach(ctx context.Context, req storage.AttachRequest) (*storage.AttachResponse, error) {
	b, err := s.backend(req.SubjectURL)
	if err != nil {
		return nil, err
	}
	a, ok := b.Storage.(storage.Attacher)
	if !ok {
		return nil, s.fail("attaching to", req.SubjectURL, b, fmt.Errorf("%w: the plugin %s does not attach files", errors.ErrUnsupported, b.Name))
	}
	req.Options = s.options(req.SubjectURL, req.Options)
	resp, err := a.Attach(ctx, &req)
	if err != nil {
		return nil, s.fail("attaching to", req.SubjectURL, b, err)
	}
	return resp, nil
}

// Attached writes the files attached to req.SubjectURL into the new folder
// req.DestPath (with that URL's credentials added to req.Options), through
// a plugin that implements storage.AttachedReader; any other fails with
// errors.ErrUnsupported.
func (s *Store) Attached(ctx context.Context, req storage.AttachedRequest) (*storage.AttachedResponse, error) {
	b, err := s.backend(req.SubjectURL)
	if err != nil {
		return nil, err
	}
	a, ok := b.Storage.(storage.AttachedReader)
	if !ok {
		return nil, s.fail("reading what is attached to", req.SubjectURL, b, fmt.Errorf("%w: the plugin %s does not read attached files", errors.ErrUnsupported, b.Name))
	}
	req.Options = s.options(req.SubjectURL, req.Options)
	resp, err := a.Attached(ctx, &req)
	if err != nil {
		return nil, s.fail("reading what is attached to", req.SubjectURL, b, err)
	}
	return resp, nil
}

// List returns a page of the files in the folder rawURL names, after
// startAfter, with that URL's credentials and the use's options, through a
// plugin that implements storage.Lister; any other fails with
// errors.ErrUnsupported.
func (s *Store) List(ctx context.Context, rawURL string, use map[string]string, startAfter string) (*storage.ListResponse, error) {
	b, err := s.backend(rawURL)
	if err != nil {
		return nil, err
	}
	l, ok := b.Storage.(storage.Lister)
	if !ok {
		return nil, s.fail("listing", rawURL, b, fmt.Errorf("%w: the plugin %s does not list folders", errors.ErrUnsupported, b.Name))
	}
	resp, err := l.List(ctx, &storage.ListRequest{URL: rawURL, Options: s.options(rawURL, use), StartAfter: startAfter})
	if err != nil {
		return nil, s.fail("listing", rawURL, b, err)
	}
	return resp, nil
}

// Shown is rawURL as every message of the store prints it.
func (s *Store) Shown(rawURL string) string { return s.shown(rawURL) }

func (s *Store) shown(rawURL string) string { return s.redact.String(Redact(rawURL)) }

func (s *Store) backend(rawURL string) (Backend, error) {
	scheme, err := Scheme(rawURL, s.shown(rawURL))
	if err != nil {
		return Backend{}, err
	}
	return s.resolve(scheme)
}

// fail wraps a plugin's error with what was done, keeping the cause for
// errors.Is, and says "not found" the same way for every backend.
func (s *Store) fail(op, rawURL string, b Backend, err error) error {
	if b.Explain != nil {
		err = b.Explain(err)
	}
	shown := s.shown(rawURL)
	// A plugin may echo the URL it was given, query and password included.
	if msg := err.Error(); strings.Contains(msg, rawURL) {
		err = &rewordedError{msg: strings.ReplaceAll(msg, rawURL, shown), err: err}
	}
	if errors.Is(err, fs.ErrNotExist) {
		err = &notFoundError{err}
	}
	return s.redact.Err(&Error{Op: op, URL: shown, Err: err})
}

// Error is a failed call: "getting URL: cause". URL is redacted.
type Error struct {
	Op  string // "getting", "putting", "resolving" or "attaching to"
	URL string
	Err error
}

func (e *Error) Error() string { return e.Op + " " + e.URL + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// rewordedError keeps err's chain for errors.Is under another message.
type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }

func (s *Store) progressFunc(op, shown string) storage.ProgressFunc {
	return func(p storage.Progress) { s.progress.Update(op, shown, p.DoneBytes, p.TotalBytes) }
}

// watchSize cancels the returned context once the transfer has written more
// than limit bytes (0: no limit), by what the plugin reports and by what is at
// dest, polled and looked at once more when the plugin returns. stop ends
// the watch and reports whether the limit was hit.
func watchSize(ctx context.Context, req *storage.GetRequest, dest string, limit int64) (context.Context, func() bool) {
	if limit <= 0 {
		return ctx, func() bool { return false }
	}
	ctx, cancel := context.WithCancelCause(ctx)
	check := func(n int64) {
		if n > limit {
			cancel(ErrTooLarge)
		}
	}
	report := req.Progress
	req.Progress = func(p storage.Progress) {
		check(p.DoneBytes)
		if report != nil {
			report(p)
		}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		// Walking a large tree is not free: the next look waits at least
		// four times as long as the last one took, so the watch costs a
		// fifth of a core at most, never more.
		wait := 100 * time.Millisecond
		for {
			t := time.NewTimer(wait)
			select {
			case <-done:
				t.Stop()
				return
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			start := time.Now()
			check(sizeAt(dest))
			wait = max(100*time.Millisecond, 4*time.Since(start))
		}
	}()
	return ctx, func() bool {
		close(done)
		<-stopped
		// A last look once the plugin is done: what it wrote between two
		// polls, and whatever it reported, counts only as what is at dest.
		check(sizeAt(dest))
		tooLarge := errors.Is(context.Cause(ctx), ErrTooLarge)
		cancel(nil)
		return tooLarge
	}
}

// sizeAt is the total size of the regular files at path (0 if none yet).
func sizeAt(path string) int64 {
	var n int64
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
