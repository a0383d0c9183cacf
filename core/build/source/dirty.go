package source

import (
	"bufio"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// isDirty reports whether the work tree at root differs from the commit
// head, as `git status` would say: a staged change, a tracked file changed
// or removed, or an untracked file no ignore rule covers.
//
// It is written here rather than taken from go-git's Worktree.Status, which
// walks and hashes every file, ignored directories included (a node_modules
// or a folder of published builds made a run seconds slower), and hashes
// even files whose stat matches the index. Like git, it trusts the index's
// cached stat of a file that was not changed in the second the index was
// written, never descends into an ignored directory that holds no tracked
// file, and stops at the first difference.
func isDirty(repo *git.Repository, root, gitDir string, head *object.Commit, excludes []gitignore.Pattern) (bool, error) {
	idx, err := repo.Storer.Index()
	if err != nil {
		return false, fmt.Errorf("reading the index: %w", err)
	}
	if staged, err := indexDiffers(idx, head); err != nil || staged {
		return staged, err
	}
	var indexTime time.Time
	if fi, err := os.Stat(filepath.Join(gitDir, "index")); err == nil {
		indexTime = fi.ModTime()
	}
	// With core.fileMode false (a checkout from a file system without an
	// executable bit), git ignores that bit; so does this.
	fileMode := true
	if cfg, err := repo.Config(); err == nil && cfg.Raw.Section("core").Option("filemode") == "false" {
		fileMode = false
	}
	tracked := make(map[string]bool, len(idx.Entries))
	dirs := map[string]bool{"": true}
	for _, e := range idx.Entries {
		tracked[e.Name] = true
		for d := e.Name; ; {
			i := strings.LastIndexByte(d, '/')
			if i < 0 {
				break
			}
			d = d[:i]
			if dirs[d] {
				break
			}
			dirs[d] = true
		}
		if changed, err := entryChanged(root, e, indexTime, fileMode); err != nil || changed {
			return changed, err
		}
	}
	w := &untrackedWalk{root: root, tracked: tracked, dirs: dirs}
	return w.walk("", excludes)
}

// indexDiffers reports whether the index differs from the commit's tree: a
// staged change, an unmerged path, or a path added with --intent-to-add.
func indexDiffers(idx *index.Index, head *object.Commit) (bool, error) {
	tree, err := head.Tree()
	if err != nil {
		return false, fmt.Errorf("reading the tree of %s: %w", head.Hash, err)
	}
	byName := make(map[string]*index.Entry, len(idx.Entries))
	for _, e := range idx.Entries {
		// Stage 0 is a merged path (go-git's index.Merged is 1, the
		// ancestor's stage of a conflict).
		if e.Stage != 0 || e.IntentToAdd {
			return true, nil
		}
		byName[e.Name] = e
	}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	n := 0
	for {
		name, entry, err := walker.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, fmt.Errorf("reading the tree of %s: %w", head.Hash, err)
		}
		if entry.Mode == filemode.Dir {
			continue
		}
		e, ok := byName[name]
		if !ok || e.Hash != entry.Hash || e.Mode != entry.Mode {
			return true, nil
		}
		n++
	}
	return n != len(byName), nil
}

// entryChanged reports whether the work tree's file for e differs from it.
func entryChanged(root string, e *index.Entry, indexTime time.Time, fileMode bool) (bool, error) {
	if e.SkipWorktree {
		return false, nil
	}
	path := filepath.Join(root, filepath.FromSlash(e.Name))
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	switch e.Mode {
	case filemode.Submodule:
		return submoduleChanged(path, e.Hash), nil
	case filemode.Symlink:
		if fi.Mode()&fs.ModeSymlink == 0 {
			return true, nil
		}
	case filemode.Executable, filemode.Regular, filemode.Deprecated:
		if !fi.Mode().IsRegular() || (fileMode && (fi.Mode()&0o100 != 0) != (e.Mode == filemode.Executable)) {
			return true, nil
		}
	default:
		return true, nil
	}
	if uint32(fi.Size()) != e.Size {
		return true, nil
	}
	// The stat git cached says nothing for a file changed within the
	// index's own second ("racily clean"): that one is hashed.
	if fi.ModTime().Equal(e.ModifiedAt) && !indexTime.IsZero() && fi.ModTime().Before(indexTime.Truncate(time.Second)) {
		return false, nil
	}
	sum, err := blobHash(path, fi)
	if err != nil {
		return false, err
	}
	return sum != e.Hash, nil
}

// blobHash is git's object id of the file (a symlink's target for a link).
func blobHash(path string, fi fs.FileInfo) (plumbing.Hash, error) {
	h := sha1.New()
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(path)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		fmt.Fprintf(h, "blob %d\x00%s", len(target), target)
	} else {
		f, err := os.Open(path)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		defer f.Close()
		h.Write([]byte("blob " + strconv.FormatInt(fi.Size(), 10) + "\x00"))
		if _, err := io.Copy(h, f); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	var sum plumbing.Hash
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// submoduleChanged reports whether a checked-out submodule is at another
// commit than the one recorded; one not checked out is no change, as for
// git.
func submoduleChanged(path string, want plumbing.Hash) bool {
	if _, err := os.Lstat(filepath.Join(path, ".git")); err != nil {
		return false
	}
	sub, err := git.PlainOpen(path)
	if err != nil {
		return true
	}
	head, err := sub.Head()
	return err != nil || head.Hash() != want
}

// readDir is os.ReadDir; a test counts the folders walked.
var readDir = os.ReadDir

// untrackedWalk looks for a file that is neither tracked nor ignored.
type untrackedWalk struct {
	root    string
	tracked map[string]bool // index paths
	dirs    map[string]bool // folders holding a tracked path ("" the root)
}

// walk searches the folder rel (slash-separated, "" for the root) with the
// ignore patterns that apply above it.
func (w *untrackedWalk) walk(rel string, patterns []gitignore.Pattern) (bool, error) {
	dir := filepath.Join(w.root, filepath.FromSlash(rel))
	var domain []string
	if rel != "" {
		domain = strings.Split(rel, "/")
	}
	patterns = append(patterns[:len(patterns):len(patterns)], readIgnore(filepath.Join(dir, ".gitignore"), domain)...)
	m := gitignore.NewMatcher(patterns)
	entries, err := readDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Name() == ".git" {
			continue
		}
		path := e.Name()
		if rel != "" {
			path = rel + "/" + path
		}
		if w.tracked[path] {
			continue
		}
		isDir := e.IsDir() // a symlink to a folder is a file to git
		if isDir && w.dirs[path] {
			// Holds tracked files: walked even when ignored, for the
			// untracked files beside them that no rule covers.
			if found, err := w.walk(path, patterns); err != nil || found {
				return found, err
			}
			continue
		}
		if m.Match(append(domain[:len(domain):len(domain)], e.Name()), isDir) {
			continue
		}
		if !isDir {
			return true, nil
		}
		if found, err := w.walk(path, patterns); err != nil || found {
			return found, err
		}
	}
	return false, nil
}

// readIgnore returns the patterns of a .gitignore file (none when there is
// no readable one).
func readIgnore(path string, domain []string) []gitignore.Pattern {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseIgnore(f, domain)
}

// parseIgnore parses ignore-file lines: comments and blank lines skipped.
func parseIgnore(r io.Reader, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), "\r"); !strings.HasPrefix(l, "#") && strings.TrimSpace(l) != "" {
			ps = append(ps, gitignore.ParsePattern(l, domain))
		}
	}
	return ps
}
