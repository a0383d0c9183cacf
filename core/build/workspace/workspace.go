// Package workspace owns the directories of one run (staging, materials)
// and the rule that no path taken from a URL, an archive, an attestation or
// a config escapes the folder it is meant for.
package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrEscape reports a path that leaves its root.
var ErrEscape = errors.New("path escapes its root")

// PlainName reports whether name is a plain file name: not empty, not "."
// or "..", without a separator of any platform. Every name that comes from
// outside and becomes a file (a material, a published subject, an attached
// attestation) is checked by it.
func PlainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`)
}

// Join returns root/rel after checking that rel is relative, has no ".."
// segment, and that no existing part of the result is a symlink leading out
// of root.
func Join(root, rel string) (string, error) {
	if rel == "" {
		return "", fmt.Errorf("empty path")
	}
	if filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") {
		return "", fmt.Errorf("%q: %w (absolute)", rel, ErrEscape)
	}
	for _, seg := range strings.Split(filepath.ToSlash(rel), "/") {
		if seg == ".." {
			return "", fmt.Errorf("%q: %w (..)", rel, ErrEscape)
		}
	}
	p := filepath.Join(root, rel)
	if err := Contained(root, p); err != nil {
		return "", err
	}
	return p, nil
}

// Contained checks that p, with every symlink in it resolved as far as it
// exists, stays inside root.
func Contained(root, p string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	real, err := evalExisting(p)
	if err != nil {
		return err
	}
	if real != realRoot && !strings.HasPrefix(real, realRoot+string(filepath.Separator)) {
		rel, _ := filepath.Rel(root, p)
		return fmt.Errorf("%q: %w (resolves to %s)", rel, ErrEscape, real)
	}
	return nil
}

// evalExisting resolves symlinks in the longest existing prefix of p and
// appends the rest unchanged.
func evalExisting(p string) (string, error) {
	p = filepath.Clean(p)
	rest := ""
	for {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(p, rest), nil
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// Workspace is the scratch area of one run: Staging receives what plugins
// write, Materials holds verified materials. Both live on one filesystem so
// a verified download moves into place with a rename.
type Workspace struct {
	Root      string
	Staging   string
	Materials string
	keep      bool
}

// New creates a workspace under parent (os.TempDir() when empty).
func New(parent string, keep bool) (*Workspace, error) {
	root, err := os.MkdirTemp(parent, "mmbuild-")
	if err != nil {
		return nil, fmt.Errorf("creating workspace: %w", err)
	}
	w := &Workspace{Root: root, Staging: filepath.Join(root, "staging"), Materials: filepath.Join(root, "materials"), keep: keep}
	for _, d := range []string{w.Staging, w.Materials} {
		if err := os.Mkdir(d, 0o700); err != nil {
			_ = os.RemoveAll(root)
			return nil, fmt.Errorf("creating workspace: %w", err)
		}
	}
	return w, nil
}

// StagingPath returns a fresh, not yet existing path in the staging area.
func (w *Workspace) StagingPath(name string) (string, error) {
	d, err := os.MkdirTemp(w.Staging, "s-")
	if err != nil {
		return "", err
	}
	return filepath.Join(d, name), nil
}

// Snapshots is the folder for the copies of what a build made that are
// published: made by whoever fills it.
func (w *Workspace) Snapshots() string { return filepath.Join(w.Root, "snapshots") }

// Close removes the workspace unless it is to be kept.
func (w *Workspace) Close() error {
	if w.keep {
		return nil
	}
	return os.RemoveAll(w.Root)
}
