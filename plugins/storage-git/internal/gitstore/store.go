package gitstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/redact"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Store is the read-only git backend. It holds no state; the core may call
// it concurrently.
type Store struct{}

var (
	_ storage.Storage = (*Store)(nil)
	_ plugin.Capabler = (*Store)(nil)
	_ plugin.Schemer  = (*Store)(nil)
)

// New returns the git backend.
func New() *Store { return &Store{} }

// Capabilities announces Get of trees, progress, and a resolved revision in
// Get's response.
func (*Store) Capabilities() []string {
	return []string{storage.CapabilityGetDir, storage.CapabilityProgress, storage.CapabilityRevision}
}

// ConfigSchema describes the options.
func (*Store) ConfigSchema() json.RawMessage {
	return json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "token": {"type": "string", "writeOnly": true, "description": "Token sent as HTTP basic auth over git+https and git+http (credentials: [{url, secret}] hands it over); ignored for git+file."},
    "user": {"type": "string", "description": "Basic-auth user sent with token.", "default": "` + DefaultUser + `"},
    "submodules": {"enum": ["refuse", "skip"], "default": "refuse", "description": "What a tree holding a submodule does: fail the transfer, or leave submodules out."}
  },
  "additionalProperties": false
}`)
}

// options are the parsed request options.
type options struct {
	user, token    string
	skipSubmodules bool
}

// parseOptions checks req.Options against the schema.
func parseOptions(m map[string]string) (*options, error) {
	o := &options{}
	var unknown []string
	for k, v := range m {
		switch k {
		case "token":
			o.token = v
		case "user":
			o.user = v
		case "submodules":
			switch v {
			case "", "refuse":
			case "skip":
				o.skipSubmodules = true
			default:
				return nil, fmt.Errorf("git storage: option submodules=%q: want refuse or skip", v)
			}
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("git storage: unknown option %s (known: token, user, submodules)", strings.Join(unknown, ", "))
	}
	if o.user != "" && o.token == "" {
		return nil, errors.New("git storage: option user is set but token is not")
	}
	return o, nil
}

// prepare checks a request's URL and options.
func prepare(rawURL string, opts map[string]string) (*location, *options, error) {
	l, err := parseURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	o, err := parseOptions(opts)
	if err != nil {
		return nil, nil, err
	}
	return l, o, nil
}

// Stat resolves the revision and the sub-path, checks the tree as Get would,
// and reports its total size and the commit's time.
func (*Store) Stat(ctx context.Context, req *storage.StatRequest) (_ *storage.StatResponse, err error) {
	defer func() { err = redact.Error(err, req.Options["token"]) }()
	l, o, err := prepare(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, l, o)
	if err != nil {
		return nil, err
	}
	defer s.close()
	p, err := planFor(ctx, s, l, o)
	if err != nil {
		return nil, err
	}
	return &storage.StatResponse{IsDir: p.dir, Size: p.bytes, ModTime: s.commit.Committer.When}, nil
}

// Get writes the tree (or file) the URL names at its revision to
// req.DestPath, and returns the commit it resolved to as Revision.
func (*Store) Get(ctx context.Context, req *storage.GetRequest) (_ *storage.GetResponse, err error) {
	defer func() { err = redact.Error(err, req.Options["token"]) }()
	l, o, err := prepare(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, l, o)
	if err != nil {
		return nil, err
	}
	defer s.close()
	p, err := planFor(ctx, s, l, o)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prog := progress.NewMeter(req.Report, p.bytes)
	if err := p.write(ctx, s.repo, req.DestPath, prog); err != nil {
		return nil, fmt.Errorf("writing %s of %s at %s to %s: %w", orRoot(l.subPath()), l.repo(), s.commit.Hash, req.DestPath, err)
	}
	plugin.Logger().Debug("get", "repo", l.repo(), "path", l.subPath(), "revision", l.rev(),
		"commit", s.commit.Hash.String(), "files", p.files, "bytes", prog.Done())
	return &storage.GetResponse{Bytes: prog.Done(), Files: p.files, IsDir: p.dir, Revision: s.commit.Hash.String(), Name: l.name()}, nil
}

// ResolvedRevision returns the full commit id the revision of rawURL
// resolves to now (a tag or a branch moves; a commit id does not), without
// writing anything: what Get reports as GetResponse.Revision.
func (*Store) ResolvedRevision(ctx context.Context, rawURL string, opts map[string]string) (_ string, err error) {
	defer func() { err = redact.Error(err, opts["token"]) }()
	l, o, err := prepare(rawURL, opts)
	if err != nil {
		return "", err
	}
	s, err := open(ctx, l, o)
	if err != nil {
		return "", err
	}
	defer s.close()
	return s.commit.Hash.String(), nil
}

// Put is errors.ErrUnsupported: the backend is read-only.
func (*Store) Put(_ context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	if _, err := parseURL(req.URL); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: git storage is read-only: commit and push instead", errors.ErrUnsupported)
}
