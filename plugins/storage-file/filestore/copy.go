package filestore

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/mmbuild/mmbuild/sdk/progress"
)

// step is how much is copied between two checks of the context. Each step is
// one io.CopyN from an *os.File to an *os.File, which Linux turns into
// copy_file_range.
const step = 1 << 20

// copyTo creates dest (which must not exist) as a copy of s: a file, or a
// tree. With durable, every file and directory is synced. On error it removes
// what it created.
func (s *source) copyTo(ctx context.Context, dest string, durable bool, p *progress.Meter) (err error) {
	// Files are opened through an os.Root, so a directory of the tree
	// swapped for a symlink since the scan cannot lead out of it.
	base, err := os.OpenRoot(s.base)
	if err != nil {
		return err
	}
	defer base.Close()
	if !s.dir {
		if s.link && linkFile(base, s.entries[0], dest, durable) {
			p.Add(s.entries[0].size, s.entries[0].src)
			return nil
		}
		return copyFile(ctx, base, s.entries[0], dest, durable, p)
	}
	if err := os.Mkdir(dest, 0o700); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dest)
		}
	}()
	var dirs []string
	for _, e := range s.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		target := filepath.Join(dest, e.rel)
		if !e.mode.IsDir() {
			if err := copyFile(ctx, base, e, target, durable, p); err != nil {
				return err
			}
			continue
		}
		if e.rel != "." {
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
		}
		// Owner rwx always, so whoever owns the copy can remove it.
		if err := os.Chmod(target, e.mode.Perm()|0o700); err != nil {
			return err
		}
		dirs = append(dirs, target)
	}
	if durable {
		for _, d := range dirs {
			if err := syncDir(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFile copies the regular file e.src in base to dest (which must not
// exist) with e's permission bits. On error it removes dest.
func copyFile(ctx context.Context, base *os.Root, e entry, dest string, durable bool, p *progress.Meter) (err error) {
	in, err := openRegular(base, e.src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(dest)
		}
	}()
	current := filepath.ToSlash(e.rel)
	if current == "." {
		current = e.src
	}
	if clone(out, in) {
		p.Add(e.size, current)
		return finishFile(out, e, durable)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.CopyN(out, in, step)
		p.Add(n, current)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	return finishFile(out, e, durable)
}

// linkFile makes dest (which must not exist) a hard link to the regular
// file e.src in base, and syncs it if durable: no byte is copied. It
// reports false, leaving nothing at dest, where that cannot be done (another
// file system, links refused, e's mode not the file's) or dest is not the
// very file opened in base; the caller then copies.
func linkFile(base *os.Root, e entry, dest string, durable bool) bool {
	in, err := openRegular(base, e.src)
	if err != nil {
		return false
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil || info.Mode().Perm() != e.mode.Perm() {
		return false
	}
	if err := os.Link(filepath.Join(base.Name(), e.src), dest); err != nil {
		return false
	}
	linked, err := os.Lstat(dest)
	if err == nil && !os.SameFile(info, linked) {
		err = errors.New("another file")
	}
	if err == nil && durable {
		err = in.Sync()
	}
	if err != nil {
		_ = os.Remove(dest)
		return false
	}
	return true
}

// finishFile gives the copy e's permission bits, and syncs it if durable.
func finishFile(out *os.File, e entry, durable bool) error {
	if err := out.Chmod(e.mode.Perm()); err != nil {
		return err
	}
	if durable {
		return out.Sync()
	}
	return nil
}

// syncDir makes the entries of directory d durable.
func syncDir(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// openRegular opens name in base for reading if it is a regular file. It
// never leaves base, never blocks on a fifo, and checks the file it opened,
// so an entry swapped since the scan cannot lead elsewhere.
func openRegular(base *os.Root, name string) (*os.File, error) {
	f, err := base.OpenFile(name, openFlags, 0)
	if err != nil {
		return nil, fsError(err)
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = special(filepath.Join(base.Name(), name), info.Mode())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
