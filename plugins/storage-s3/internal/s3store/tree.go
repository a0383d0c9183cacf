package s3store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// treeEntry is one object of a tree and the local path it maps to.
type treeEntry struct {
	obj objectInfo
	rel string // "/"-separated, relative to the tree's root
}

// planTree maps the objects of a tree to relative paths and lists the
// directories they need, parents first. Every key is checked before anything
// is written: one that is not a plain relative path (a "." or ".." segment,
// an empty segment, a leading "/", a backslash, a control character) is
// storage.ErrUnsafePath and refuses the whole tree.
func planTree(url, prefix string, objects []objectInfo) ([]treeEntry, []string, error) {
	entries := make([]treeEntry, 0, len(objects))
	files := map[string]bool{}
	dirs := map[string]bool{}
	for _, o := range objects {
		rel := strings.TrimPrefix(o.key, prefix)
		if err := checkRel(rel); err != nil {
			return nil, nil, fmt.Errorf("%s: object %q: %w", url, o.key, err)
		}
		entries = append(entries, treeEntry{obj: o, rel: rel})
		files[rel] = true
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	out := make([]string, 0, len(dirs))
	for d := range dirs {
		if files[d] {
			return nil, nil, fmt.Errorf("%s: key %q is both an object and a folder of other objects", url, prefix+d)
		}
		out = append(out, d)
	}
	sort.Strings(out) // a parent sorts before its children
	return entries, out, nil
}

// checkRel accepts a relative, "/"-separated path whose every segment is a
// plain name.
func checkRel(rel string) error {
	if rel == "" || strings.HasPrefix(rel, "/") {
		return fmt.Errorf("%w: absolute or empty path", storage.ErrUnsafePath)
	}
	for _, r := range rel {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: control character %q", storage.ErrUnsafePath, r)
		}
		if r == '\\' {
			return fmt.Errorf("%w: backslash, a path separator elsewhere", storage.ErrUnsafePath)
		}
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: segment %q", storage.ErrUnsafePath, seg)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return fmt.Errorf("%w: not a local path", storage.ErrUnsafePath)
	}
	return nil
}

// getTree downloads every object of t into the new directory req.DestPath.
// Files are created through an os.Root of DestPath, so nothing lands outside
// it; on error DestPath is removed.
func (s *Store) getTree(ctx context.Context, c *s3.Client, loc location, t *target, req *storage.GetRequest) (resp *storage.GetResponse, err error) {
	entries, dirs, err := planTree(loc.url, t.prefix, t.objects)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, e := range entries {
		total += e.obj.size
	}
	if err := os.Mkdir(req.DestPath, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(req.DestPath)
		}
	}()
	root, err := os.OpenRoot(req.DestPath)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	for _, d := range dirs {
		if err := root.Mkdir(filepath.FromSlash(d), 0o755); err != nil {
			return nil, err
		}
	}

	p := newProgress(req.Report, total)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.concurrency)
	for _, e := range entries {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			f, err := root.OpenFile(filepath.FromSlash(e.rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			err = s.download(gctx, c, loc.bucket, e.obj, f, p)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", loc.url, ctx.Err())
		}
		return nil, err
	}
	plugin.Logger().Debug("get tree", "url", loc.url, "files", len(entries), "bytes", total)
	return &storage.GetResponse{Bytes: total, Files: int64(len(entries)), IsDir: true}, nil
}

// sourceFile is a regular file of a tree to upload.
type sourceFile struct {
	rel  string // "/"-separated
	size int64
}

// scanSource lists the regular files under root. Inside the tree nothing is
// followed out: a symlink that resolves outside it, a device, a fifo or a
// socket is storage.ErrUnsafePath; a symlink to a directory is
// errors.ErrUnsupported; a symlink to a file inside is read as that file.
func scanSource(ctx context.Context, root string) ([]sourceFile, int64, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, 0, err
	}
	var files []sourceFile
	var total int64
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == root || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				return danglingLink(realRoot, p)
			}
			if in, err := filepath.Rel(realRoot, target); err != nil || !filepath.IsLocal(in) {
				return fmt.Errorf("%s: a symlink that leads out of the tree: %w", p, storage.ErrUnsafePath)
			}
			if info, err = os.Stat(target); err != nil {
				return err
			}
			if info.IsDir() {
				return fmt.Errorf("%s: a symlink to a directory: %w", p, errors.ErrUnsupported)
			}
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s: %v is not a regular file: %w", p, info.Mode().Type(), storage.ErrUnsafePath)
		}
		files = append(files, sourceFile{rel: filepath.ToSlash(rel), size: info.Size()})
		total += info.Size()
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("reading source: %w", err)
	}
	return files, total, nil
}

// putTree uploads every regular file under req.SourcePath as an object
// under the tree's prefix, in parallel. Each object appears whole or not at
// all; S3 cannot swap a whole tree at once, and objects under the prefix
// that the source lacks are left in place.
func (s *Store) putTree(ctx context.Context, c *s3.Client, loc location, req *storage.PutRequest) (*storage.PutResponse, error) {
	files, total, err := scanSource(ctx, req.SourcePath)
	if err != nil {
		return nil, err
	}
	prefix := loc.prefix()
	for _, f := range files {
		if err := checkKey(prefix + f.rel); err != nil {
			return nil, fmt.Errorf("%s: file %q: %w", loc.url, f.rel, err)
		}
	}
	if !loc.isPrefix() {
		// Stat and Get would find an object of that key rather than the tree.
		_, err := headObject(ctx, c, loc.url, loc.bucket, loc.key)
		switch {
		case err == nil:
			return nil, fmt.Errorf("%s: an object has this key: a tree cannot replace it", loc.url)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission):
			return nil, err
		}
	}
	root, err := os.OpenRoot(req.SourcePath)
	if err != nil {
		return nil, fmt.Errorf("reading source: %w", err)
	}
	defer root.Close()

	p := newProgress(req.Report, total)
	var sent atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.concurrency)
	for _, sf := range files {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			f, err := root.Open(filepath.FromSlash(sf.rel))
			if err != nil {
				return fmt.Errorf("reading source: %w", err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return fmt.Errorf("reading source: %w", err)
			}
			if !fi.Mode().IsRegular() {
				return fmt.Errorf("reading source %s: no longer a regular file: %w", sf.rel, storage.ErrUnsafePath)
			}
			key := prefix + sf.rel
			if err := s.upload(gctx, c, objectURL(loc.bucket, key), loc.bucket, key, f, fi.Size(), fi.Mode(), nil, p); err != nil {
				return err
			}
			sent.Add(fi.Size())
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", loc.url, ctx.Err())
		}
		return nil, err
	}
	plugin.Logger().Debug("put tree", "url", loc.url, "files", len(files), "bytes", sent.Load())
	return &storage.PutResponse{Bytes: sent.Load(), Files: int64(len(files)), IsDir: true}, nil
}

// danglingLink describes a symlink at p that resolves nowhere: unsafe when
// its target lies outside the tree, else merely broken.
func danglingLink(realRoot, p string) error {
	t, err := os.Readlink(p)
	if err != nil {
		return err
	}
	if !filepath.IsAbs(t) {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return err
		}
		t = filepath.Join(dir, t)
	}
	if in, err := filepath.Rel(realRoot, t); err != nil || !filepath.IsLocal(in) {
		return fmt.Errorf("%s: a symlink that leads out of the tree: %w", p, storage.ErrUnsafePath)
	}
	return fmt.Errorf("%s: a symlink to nothing", p)
}
