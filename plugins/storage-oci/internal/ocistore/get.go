package ocistore

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// getArtifact writes a stored file or tree to req.DestPath. Directories
// and files are created through an os.Root of DestPath, so nothing lands
// outside it.
func (s *Store) getArtifact(ctx context.Context, p *remote.Puller, c *call, a *artifact, req *storage.GetRequest) (*storage.GetResponse, error) {
	prog := progress.NewMeter(req.Report, a.size)
	if !a.dir {
		f := a.files[0]
		if err := s.fetchBlob(ctx, p, c, f.desc, nil, req.DestPath, f.mode, prog); err != nil {
			return nil, err
		}
		return &storage.GetResponse{Bytes: a.size, Files: 1}, nil
	}
	dirs, err := a.dirs()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.loc.shown, err)
	}
	root, err := newDir(req.DestPath)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	for _, d := range dirs {
		if err := root.Mkdir(filepath.FromSlash(d), 0o755); err != nil {
			return nil, err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.jobs)
	for _, f := range a.files {
		g.Go(func() error {
			return s.fetchBlob(gctx, p, c, f.desc, root, filepath.FromSlash(f.rel), f.mode, prog)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return &storage.GetResponse{Bytes: a.size, Files: int64(len(a.files)), IsDir: true}, nil
}

// fetchBlob writes the blob desc names to dest (in root, or a path when
// root is nil), a new file with mode. go-containerregistry checks the
// bytes against the digest as they are read; more or fewer bytes than the
// descriptor's size are an error too. A partial file is removed.
func (s *Store) fetchBlob(ctx context.Context, p *remote.Puller, c *call, desc v1.Descriptor, root *os.Root, dest string, mode fs.FileMode, prog *progress.Meter) (err error) {
	var f *os.File
	if root != nil {
		f, err = root.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	} else {
		f, err = os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if root != nil {
				_ = root.Remove(dest)
			} else {
				_ = os.Remove(dest)
			}
		}
	}()
	if err := f.Chmod(mode); err != nil { // whatever the umask
		return err
	}
	if desc.Size == 0 && desc.Digest == emptyBlob {
		return nil
	}
	l, err := p.Layer(ctx, c.loc.repo.Digest(desc.Digest.String()))
	if err != nil {
		return c.fail("reading blob "+desc.Digest.String(), err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return c.fail("reading blob "+desc.Digest.String(), err)
	}
	defer rc.Close()
	// Read to the end: the digest is checked there.
	n, err := io.Copy(f, meterReader(ctx, prog, io.LimitReader(rc, desc.Size+1)))
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return c.fail("reading blob "+desc.Digest.String(), err)
	case n != desc.Size:
		return fmt.Errorf("reading blob %s: the registry sent %s bytes, its descriptor says %d", desc.Digest, sizeSent(n, desc.Size), desc.Size)
	}
	return nil
}

// newDir creates the directory dest (which must not exist) and opens it as
// the root everything is written through.
func newDir(dest string) (*os.Root, error) {
	if err := os.Mkdir(dest, 0o755); err != nil {
		return nil, err
	}
	return os.OpenRoot(dest)
}

// sizeSent says how many bytes came: "more than N" when the read was cut.
func sizeSent(n, size int64) string {
	if n > size {
		return fmt.Sprintf("more than %d", size)
	}
	return fmt.Sprint(n)
}

// emptyBlob is the digest of zero bytes: an empty file needs no request.
var emptyBlob = v1.Hash{Algorithm: "sha256", Hex: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
