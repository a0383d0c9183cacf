package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxLinks bounds the symbolic links followed to resolve one path, as the
// kernel's ELOOP does.
const maxLinks = 40

// checkSymlinks refuses a work tree holding a symbolic link that resolves
// outside root. go-git's checkout refuses paths with "..", ".git" and
// symlinked parent folders, but it writes a symlink's target as the commit
// has it, so a commit may carry "docs -> /etc" or "x -> ../../..". A build
// that reads or writes through such a link leaves its workspace: the clone
// is refused. Links are resolved the way the kernel does (each ".." after
// a link applies to the link's target, not its name); a link whose target
// does not exist yet is judged by where it would point. Links with an
// absolute target are refused even when they point inside root: they do
// not survive the tree being moved.
func checkSymlinks(root string) error {
	gitDir := filepath.Join(root, ".git")
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == gitDir {
			return filepath.SkipDir
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if err := resolvesInside(root, rel); err != nil {
			target, _ := os.Readlink(p)
			return fmt.Errorf("%w: symbolic link %s -> %s %v", ErrUnsafeTree, filepath.ToSlash(rel), target, err)
		}
		return nil
	})
}

var errOutside = errors.New("points outside the work tree")

// resolvesInside resolves rel (relative to root) component by component,
// following symbolic links, and fails if the path leaves root at any step.
func resolvesInside(root, rel string) error {
	var cur []string // resolved components below root; never a symlink
	todo := split(rel)
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return errOutside
			}
			cur = cur[:len(cur)-1]
			continue
		}
		next := append(cur[:len(cur):len(cur)], c)
		full := filepath.Join(append([]string{root}, next...)...)
		fi, err := os.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			cur = next // does not exist (yet): the rest is plain names
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxLinks {
			return errors.New("too many levels of symbolic links")
		}
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		if filepath.IsAbs(target) {
			return fmt.Errorf("%w (absolute target)", errOutside)
		}
		todo = append(split(target), todo...)
	}
	return nil
}

func split(p string) []string {
	return strings.Split(filepath.ToSlash(p), "/")
}
