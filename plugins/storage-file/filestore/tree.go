package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// entry is one thing to create when copying a source.
type entry struct {
	rel  string      // path relative to the source root, "." for the root
	src  string      // file to read, relative to source.base: the entry itself or, for a symlink, its resolved target
	mode fs.FileMode // permission bits, plus fs.ModeDir for a directory
	size int64
}

// source is a file or a tree checked for copying.
type source struct {
	root    string // resolved path of the source
	base    string // the directory entries are read from: root for a tree, its parent for a file
	dir     bool
	entries []entry // parents before their children
	bytes   int64   // total size of the regular files
	files   int64
	info    fs.FileInfo // of root
	// link: the source is a file the core snapshotted read-only
	// (storage.PutRequest.Snapshot), which copyTo may hard link.
	link bool
}

// scan resolves path (a symlink named by the user is followed) and checks
// what is under it, refusing anything that cannot be copied safely.
func scan(ctx context.Context, path string) (*source, error) {
	root, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fsError(err)
	}
	info, err := os.Lstat(root)
	if err != nil {
		return nil, fsError(err)
	}
	s := &source{root: root, base: root, dir: info.IsDir(), info: info}
	switch {
	case info.Mode().IsRegular():
		s.base = filepath.Dir(root)
		s.add(entry{rel: ".", src: filepath.Base(root), mode: info.Mode().Perm(), size: info.Size()})
		return s, nil
	case !info.IsDir():
		return nil, special(root, info.Mode())
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		switch typ := d.Type(); {
		case typ.IsDir(), typ.IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			e := entry{rel: rel, src: rel, mode: info.Mode().Perm(), size: info.Size()}
			if typ.IsDir() {
				e.mode |= fs.ModeDir
			}
			s.add(e)
			return nil
		case typ&fs.ModeSymlink != 0:
			e, err := resolveLink(root, p, rel)
			if err != nil {
				return err
			}
			s.add(e)
			return nil
		default:
			return special(p, typ)
		}
	})
	if err != nil {
		return nil, fsError(err)
	}
	return s, nil
}

func (s *source) add(e entry) {
	s.entries = append(s.entries, e)
	if e.mode.IsRegular() {
		s.bytes += e.size
		s.files++
	}
}

// resolveLink turns the symlink at p (rel in the tree at root) into the
// entry of the regular file it points to inside the tree.
func resolveLink(root, p, rel string) (entry, error) {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		// Dangling: unsafe if it points out, else merely broken.
		if dest, rerr := os.Readlink(p); rerr == nil {
			if !filepath.IsAbs(dest) {
				dest = filepath.Join(filepath.Dir(p), dest)
			}
			if !within(root, dest) {
				return entry{}, fmt.Errorf("%w: symlink %s points to %s, outside %s", storage.ErrUnsafePath, rel, dest, root)
			}
		}
		// %v: a broken link inside a tree is not a missing object.
		return entry{}, fmt.Errorf("broken symlink %s in %s: %v", rel, root, err)
	}
	if !within(root, target) {
		return entry{}, fmt.Errorf("%w: symlink %s points to %s, outside %s", storage.ErrUnsafePath, rel, target, root)
	}
	info, err := os.Lstat(target)
	if err != nil {
		return entry{}, err
	}
	switch {
	case info.Mode().IsRegular():
		src, err := filepath.Rel(root, target)
		if err != nil {
			return entry{}, err
		}
		return entry{rel: rel, src: src, mode: info.Mode().Perm(), size: info.Size()}, nil
	case info.IsDir():
		return entry{}, fmt.Errorf("%w: symlink %s points to a directory (%s); only symlinks to files are copied",
			errors.ErrUnsupported, rel, target)
	default:
		return entry{}, special(target, info.Mode())
	}
}

// within reports whether p is root or below it. Both are clean paths.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func special(p string, mode fs.FileMode) error {
	kind := "special file"
	switch {
	case mode&fs.ModeNamedPipe != 0:
		kind = "named pipe"
	case mode&fs.ModeSocket != 0:
		kind = "socket"
	case mode&fs.ModeCharDevice != 0:
		kind = "character device"
	case mode&fs.ModeDevice != 0:
		kind = "device"
	}
	return fmt.Errorf("%w: %s is a %s; only regular files and directories are copied", storage.ErrUnsafePath, p, kind)
}

// fsError maps a file system error to the storage contract: a path below a
// regular file (ENOTDIR) does not exist either.
func fsError(err error) error {
	if errors.Is(err, syscall.ENOTDIR) && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %v", fs.ErrNotExist, err)
	}
	return err
}
