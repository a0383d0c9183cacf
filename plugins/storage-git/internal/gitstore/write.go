package gitstore

import (
	"context"
	"fmt"
	"io"
	"os"

	git "github.com/go-git/go-git/v5"

	"github.com/mmbuild/mmbuild/sdk/progress"
)

// step is how much is copied between two checks of the context.
const step = 1 << 20

// write creates dest, which must not exist, as the plan says: a file, or a
// tree. Files are 0644 or 0755 and directories 0755, whatever the umask. On
// error it removes what it created.
func (p *plan) write(ctx context.Context, r *git.Repository, dest string, prog *progress.Meter) (err error) {
	if !p.dir {
		f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if err := writeFile(ctx, r, p.entries[0], f, prog); err != nil {
			_ = os.Remove(dest)
			return err
		}
		return nil
	}
	if err := os.Mkdir(dest, 0o700); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dest)
		}
	}()
	// Every name was checked and no link is ever written, but an os.Root
	// makes sure nothing lands outside dest all the same.
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, e := range p.entries[1:] { // entries[0] is dest itself
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.dir {
			if err := root.Mkdir(e.rel, 0o700); err != nil {
				return err
			}
			continue
		}
		f, err := root.OpenFile(e.rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if err := writeFile(ctx, r, e, f, prog); err != nil {
			return err
		}
	}
	// Directories last: 0700 until now, so nothing else could write there.
	for i := len(p.entries) - 1; i >= 1; i-- {
		if e := p.entries[i]; e.dir {
			if err := root.Chmod(e.rel, 0o755); err != nil {
				return err
			}
		}
	}
	return os.Chmod(dest, 0o755)
}

// writeFile copies the blob of e into f, gives f its mode and closes it.
func writeFile(ctx context.Context, r *git.Repository, e entry, f *os.File, prog *progress.Meter) (err error) {
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	b, err := r.BlobObject(e.blob)
	if err != nil {
		return fmt.Errorf("reading %s: %w", orRoot(e.rel), err)
	}
	rd, err := b.Reader()
	if err != nil {
		return fmt.Errorf("reading %s: %w", orRoot(e.rel), err)
	}
	defer rd.Close()
	var written int64
	for written < e.size {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.CopyN(f, rd, min(step, e.size-written))
		written += n
		if n > 0 {
			prog.Add(n, e.rel)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", orRoot(e.rel), err)
		}
	}
	if written != e.size {
		return fmt.Errorf("reading %s: %d bytes instead of %d", orRoot(e.rel), written, e.size)
	}
	mode := os.FileMode(0o644)
	if e.exec {
		mode = 0o755
	}
	return f.Chmod(mode)
}
