package ocistore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/safepath"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// sourceFile is one file to put and the local path it comes from.
type sourceFile struct {
	artifactFile
	path string
}

// put uploads the file or tree at req.SourcePath: every blob first, the
// manifest last, so the tag moves to a complete artifact or not at all.
func (s *Store) put(ctx context.Context, c *call, req *storage.PutRequest) (*storage.PutResponse, error) {
	files, dir, err := scanSource(ctx, req.SourcePath)
	if err != nil {
		return nil, err
	}
	arts := make([]artifactFile, len(files))
	var total int64
	for i, f := range files {
		arts[i] = f.artifactFile
		total += f.desc.Size
	}
	raw, err := manifestOf(dir, c.loc.object, arts)
	if err != nil {
		return nil, fmt.Errorf("putting %s: %w", req.SourcePath, err)
	}
	pusher, err := remote.NewPusher(c.opts...)
	if err != nil {
		return nil, c.fail("connecting to the registry", err)
	}
	prog := progress.NewMeter(req.Report, total)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.jobs)
	g.Go(func() error {
		cfg := static.NewLayer(emptyConfig, types.OCIEmptyJSON)
		if err := pusher.Upload(gctx, c.loc.repo, cfg); err != nil {
			return c.fail("pushing the config blob", err)
		}
		return nil
	})
	seen := map[v1.Hash]bool{emptyDescriptor().Digest: true}
	for _, f := range files {
		if seen[f.desc.Digest] {
			prog.Add(f.desc.Size, "") // the same bytes as another file: one blob
			continue
		}
		seen[f.desc.Digest] = true
		g.Go(func() error {
			fl := &fileLayer{ctx: gctx, f: f, prog: prog}
			l, err := partial.CompressedToLayer(fl)
			if err != nil {
				return err
			}
			if err := pusher.Upload(gctx, c.loc.repo, l); err != nil {
				return c.fail("pushing blob "+f.desc.Digest.String()+" ("+f.rel+")", err)
			}
			// A blob the registry already had was not read: it counts as moved.
			prog.Add(max(f.desc.Size-fl.read.Load(), 0), "")
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err // nothing is tagged yet: stop before the manifest
	}
	if err := pusher.Put(ctx, c.loc.ref, rawManifest{raw: raw, mediaType: types.OCIManifestSchema1}); err != nil {
		return nil, c.fail("pushing the manifest", err)
	}
	plugin.Logger().Debug("put", "url", c.loc.redacted, "tag", c.loc.ref.Identifier(), "files", len(files), "bytes", total)
	return &storage.PutResponse{Bytes: total, Files: int64(len(files)), IsDir: dir}, nil
}

// scanSource lists the file at src, or the regular files of the tree at
// src sorted by path, with their digests. A tree holds regular files and
// directories only (a link, a device… is errors.ErrUnsupported); its empty
// directories are not kept.
func scanSource(ctx context.Context, src string) ([]sourceFile, bool, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, false, fmt.Errorf("reading source: %w", err)
	}
	switch {
	case fi.Mode().IsRegular():
		f, err := hashFile(ctx, src, filepath.Base(src), fi)
		if err != nil {
			return nil, false, err
		}
		return []sourceFile{f}, false, nil
	case !fi.IsDir():
		return nil, false, fmt.Errorf("reading source %s: a %v is neither a file nor a directory: %w", src, fi.Mode().Type(), errors.ErrUnsupported)
	}
	var files []sourceFile
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			return fmt.Errorf("reading source %s: %s is a %v: a tree holds regular files and directories only: %w", src, rel, d.Type(), errors.ErrUnsupported)
		}
		if err := safepath.Check(rel); err != nil {
			return fmt.Errorf("reading source %s: %q: %w", src, rel, err)
		}
		if len(files) == maxFiles {
			return fmt.Errorf("reading source %s: more than %d files, the most a tree may hold: %w", src, maxFiles, errors.ErrUnsupported)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f, err := hashFile(ctx, p, rel, info)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	return files, true, nil
}

// hashFile reads the file at p for its digest.
func hashFile(ctx context.Context, p, rel string, fi fs.FileInfo) (sourceFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return sourceFile{}, fmt.Errorf("reading source: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, &ctxReader{ctx: ctx, r: f})
	if err != nil {
		return sourceFile{}, fmt.Errorf("reading source %s: %w", p, err)
	}
	if n != fi.Size() {
		return sourceFile{}, fmt.Errorf("reading source %s: it changed while being read", p)
	}
	desc := v1.Descriptor{MediaType: LayerMediaType, Size: n, Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}}
	return sourceFile{artifactFile: artifactFile{rel: rel, mode: fi.Mode().Perm(), desc: desc}, path: p}, nil
}

// fileLayer is a source file as a blob to upload (a
// partial.CompressedLayer: its bytes go as they are). The registry checks
// them against the digest computed before: a file changed since is
// refused there.
type fileLayer struct {
	ctx  context.Context
	f    sourceFile
	prog *progress.Meter
	read atomic.Int64 // bytes read, over every attempt
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.f.desc.Digest, nil }
func (l *fileLayer) Size() (int64, error)                { return l.f.desc.Size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return LayerMediaType, nil }

func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.f.path)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{meterReader(l.ctx, l.prog, &tally{r: f, n: &l.read}), f}, nil
}

// tally adds up what r yields in n.
type tally struct {
	r io.Reader
	n *atomic.Int64
}

func (t *tally) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	t.n.Add(int64(n))
	return n, err
}
