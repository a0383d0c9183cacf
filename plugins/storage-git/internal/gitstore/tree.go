package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// maxLinks bounds the symbolic links followed to resolve one path, as the
// kernel's ELOOP does; maxTarget bounds a link's target, as PATH_MAX does.
const (
	maxLinks  = 40
	maxTarget = 4096
)

var (
	// errOutside: a path leads above the root it is resolved in.
	errOutside = errors.New("leads outside")
	// errAbsolute: a symbolic link has an absolute target.
	errAbsolute = errors.New("has an absolute target")
	// errMissing: a path names nothing (a dangling link, a missing entry, a
	// name below a file).
	errMissing = errors.New("names nothing")
)

// node is what a path resolves to in a tree.
type node struct {
	mode filemode.FileMode // filemode.Dir for a directory
	hash plumbing.Hash
	tree *object.Tree // for a directory
	path string       // resolved, "/"-joined, relative to the root; "" for the root
}

// frame is one resolved component of a path.
type frame struct {
	name string
	tree *object.Tree // nil for a file, or below a missing component
}

// pathOf joins the names of stack (whose first frame is the root) and last.
func pathOf(stack []frame, last string) string {
	parts := make([]string, 0, len(stack))
	for _, f := range stack[1:] {
		parts = append(parts, f.name)
	}
	if last != "" {
		parts = append(parts, last)
	}
	return strings.Join(parts, "/")
}

// resolver resolves paths inside one tree, following symbolic links the
// way the kernel does: each ".." after a link applies to the link's target,
// not its name.
type resolver struct {
	repo  *git.Repository
	root  *object.Tree
	trees map[plumbing.Hash]*object.Tree
}

func newResolver(r *git.Repository, root *object.Tree) *resolver {
	return &resolver{repo: r, root: root, trees: map[plumbing.Hash]*object.Tree{root.Hash: root}}
}

func (rs *resolver) tree(h plumbing.Hash) (*object.Tree, error) {
	if t, ok := rs.trees[h]; ok {
		return t, nil
	}
	t, err := rs.repo.TreeObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading tree %s: %w", h, err)
	}
	rs.trees[h] = t
	return t, nil
}

// resolve follows comps from the root, through directories and symbolic
// links, to what they name. It fails with errOutside when any step leads
// above the root, errAbsolute for a link with an absolute target, and
// errMissing when nothing is there; a path that names nothing but would
// lead outside is errOutside.
func (rs *resolver) resolve(comps []string) (node, error) {
	stack := []frame{{tree: rs.root}}
	todo := append([]string(nil), comps...)
	links := 0
	missing := false
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) == 1 {
				return node{}, errOutside
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if missing {
			// Judged by where it would lead: the rest is plain names.
			stack = append(stack, frame{name: c})
			continue
		}
		e, err := stack[len(stack)-1].tree.FindEntry(c)
		if err != nil {
			missing = true
			stack = append(stack, frame{name: c})
			continue
		}
		switch e.Mode {
		case filemode.Dir:
			t, err := rs.tree(e.Hash)
			if err != nil {
				return node{}, err
			}
			stack = append(stack, frame{name: c, tree: t})
		case filemode.Symlink:
			if links++; links > maxLinks {
				return node{}, errors.New("too many levels of symbolic links")
			}
			target, err := rs.linkTarget(e.Hash)
			if err != nil {
				return node{}, err
			}
			if strings.HasPrefix(target, "/") {
				return node{}, errAbsolute
			}
			todo = append(strings.Split(target, "/"), todo...)
		default:
			if len(todo) > 0 {
				// A name below a file (ENOTDIR): nothing, but ".." may
				// still say where it would lead.
				missing = true
				stack = append(stack, frame{name: c})
				continue
			}
			return node{mode: e.Mode, hash: e.Hash, path: pathOf(stack, c)}, nil
		}
	}
	if missing {
		return node{}, errMissing
	}
	top := stack[len(stack)-1]
	return node{mode: filemode.Dir, hash: top.tree.Hash, tree: top.tree, path: pathOf(stack, "")}, nil
}

// linkTarget reads a symbolic link's target.
func (rs *resolver) linkTarget(h plumbing.Hash) (string, error) {
	b, err := rs.repo.BlobObject(h)
	if err != nil {
		return "", fmt.Errorf("reading symbolic link %s: %w", h, err)
	}
	if b.Size > maxTarget {
		return "", fmt.Errorf("symbolic link %s: target of %d bytes is too long", h, b.Size)
	}
	rd, err := b.Reader()
	if err != nil {
		return "", fmt.Errorf("reading symbolic link %s: %w", h, err)
	}
	defer rd.Close()
	data, err := io.ReadAll(io.LimitReader(rd, maxTarget+1))
	if err != nil {
		return "", fmt.Errorf("reading symbolic link %s: %w", h, err)
	}
	if len(data) == 0 || len(data) > maxTarget || strings.ContainsRune(string(data), 0) {
		return "", fmt.Errorf("symbolic link %s: invalid target", h)
	}
	return string(data), nil
}

// entry is one thing Get writes.
type entry struct {
	rel  string // "/"-joined path below the destination; "" for the destination itself
	dir  bool
	blob plumbing.Hash // the content of a file
	exec bool
	size int64
}

// plan is everything Get writes, checked before anything is.
type plan struct {
	dir     bool
	entries []entry // parents before their children
	bytes   int64   // total size of the files
	files   int64
}

func (p *plan) add(e entry) {
	p.entries = append(p.entries, e)
	if !e.dir {
		p.bytes += e.size
		p.files++
	}
}

// planner builds the plan of a commit's tree, or of a path inside it.
type planner struct {
	ctx            context.Context
	repo           *git.Repository
	where          string // names the commit in messages: "https://…/repo.git at <commit>"
	base           string // the sub-path being written, "" for the whole tree
	skipSubmodules bool
	res            *resolver // rooted at the tree being written
	n              int
}

// planFor resolves the sub-path of l in commit c and plans what Get would
// write: a directory for a tree, a file for a blob.
func planFor(ctx context.Context, s *snapshot, l *location, o *options) (*plan, error) {
	root, err := s.commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s: %w", s.commit.Hash, err)
	}
	where := fmt.Sprintf("%s at %s", l.repo(), s.commit.Hash)
	if !l.commit.IsZero() || l.ref != "" {
		where = fmt.Sprintf("%s at %s (%s)", l.repo(), s.commit.Hash, l.rev())
	}
	p := &planner{ctx: ctx, repo: s.repo, where: where, base: l.subPath(), skipSubmodules: o.skipSubmodules}
	n, err := newResolver(s.repo, root).resolve(l.sub)
	if err != nil {
		sub := l.subPath()
		switch {
		case errors.Is(err, errMissing):
			return nil, because([]error{fs.ErrNotExist}, "%s not found in %s", sub, where)
		case errors.Is(err, errOutside):
			return nil, fmt.Errorf("%w: %s in %s: a symbolic link on the way leads outside the repository", storage.ErrUnsafePath, sub, where)
		case errors.Is(err, errAbsolute):
			return nil, fmt.Errorf("%w: %s in %s: a symbolic link on the way has an absolute target", storage.ErrUnsafePath, sub, where)
		}
		return nil, fmt.Errorf("%s in %s: %w", sub, where, err)
	}
	switch {
	case n.mode == filemode.Dir:
		p.res = newResolver(s.repo, n.tree)
		out := &plan{dir: true}
		out.add(entry{dir: true})
		if err := p.walk(out, n.tree, ""); err != nil {
			return nil, err
		}
		return out, nil
	case n.mode == filemode.Submodule:
		return nil, fmt.Errorf("%w: %s in %s is a submodule (a commit of another repository): fetch that repository instead",
			errors.ErrUnsupported, l.subPath(), where)
	case n.mode.IsFile():
		e, err := p.file("", n.mode, n.hash)
		if err != nil {
			return nil, err
		}
		out := &plan{}
		out.add(e)
		return out, nil
	}
	return nil, fmt.Errorf("%s in %s: unsupported entry mode %s", l.subPath(), where, n.mode)
}

// sizer is implemented by object storages that read an object's size
// without inflating the object (go-git's filesystem storage).
type sizer interface {
	EncodedObjectSize(plumbing.Hash) (int64, error)
}

// file is the entry of a blob: a regular or executable file.
func (p *planner) file(rel string, mode filemode.FileMode, h plumbing.Hash) (entry, error) {
	e := entry{rel: rel, blob: h, exec: mode == filemode.Executable}
	var err error
	if sz, ok := p.repo.Storer.(sizer); ok {
		e.size, err = sz.EncodedObjectSize(h)
	} else {
		var b *object.Blob
		if b, err = p.repo.BlobObject(h); err == nil {
			e.size = b.Size
		}
	}
	if err != nil {
		return entry{}, fmt.Errorf("reading %s in %s: %w", p.show(rel), p.where, err)
	}
	return e, nil
}

// walk adds the entries of tree t, found at rel, parents first.
func (p *planner) walk(out *plan, t *object.Tree, rel string) error {
	for _, e := range t.Entries {
		if p.n++; p.n%1024 == 0 {
			if err := p.ctx.Err(); err != nil {
				return err
			}
		}
		if err := checkName(e.Name); err != nil {
			return fmt.Errorf("%w: entry %q in %s of %s %v", storage.ErrUnsafePath, e.Name, p.show(rel), p.where, err)
		}
		path := e.Name
		if rel != "" {
			path = rel + "/" + e.Name
		}
		switch {
		case e.Mode == filemode.Dir:
			sub, err := p.res.tree(e.Hash)
			if err != nil {
				return err
			}
			out.add(entry{rel: path, dir: true})
			if err := p.walk(out, sub, path); err != nil {
				return err
			}
		case e.Mode == filemode.Symlink:
			fe, err := p.link(path, e.Hash)
			if err != nil {
				return err
			}
			out.add(fe)
		case e.Mode == filemode.Submodule:
			if p.skipSubmodules {
				continue
			}
			return fmt.Errorf("%w: %s in %s is a submodule (a commit of another repository); set the option submodules=skip to leave submodules out",
				errors.ErrUnsupported, p.show(path), p.where)
		case e.Mode.IsFile():
			fe, err := p.file(path, e.Mode, e.Hash)
			if err != nil {
				return err
			}
			out.add(fe)
		default:
			return fmt.Errorf("%s in %s: unsupported entry mode %s", p.show(path), p.where, e.Mode)
		}
	}
	return nil
}

// link turns the symbolic link at path into the entry of the file it
// points to inside the tree being written.
func (p *planner) link(path string, h plumbing.Hash) (entry, error) {
	target, err := p.res.linkTarget(h)
	if err != nil {
		return entry{}, fmt.Errorf("%s in %s: %w", p.show(path), p.where, err)
	}
	link := fmt.Sprintf("symbolic link %s -> %s in %s", p.show(path), target, p.where)
	n, err := p.res.resolve(strings.Split(path, "/"))
	switch {
	case errors.Is(err, errOutside):
		scope := "the repository"
		if p.base != "" {
			scope = p.base
		}
		return entry{}, fmt.Errorf("%w: %s leads outside %s", storage.ErrUnsafePath, link, scope)
	case errors.Is(err, errAbsolute):
		return entry{}, fmt.Errorf("%w: %s has an absolute target", storage.ErrUnsafePath, link)
	case errors.Is(err, errMissing):
		// %v: a broken link inside a tree is not a missing object.
		return entry{}, fmt.Errorf("broken %s", link)
	case err != nil:
		return entry{}, fmt.Errorf("%s: %w", link, err)
	case n.mode == filemode.Dir:
		return entry{}, fmt.Errorf("%w: %s points to a directory; only links to files are written (as copies)",
			errors.ErrUnsupported, link)
	case n.mode == filemode.Submodule:
		return entry{}, fmt.Errorf("%w: %s points to a submodule", errors.ErrUnsupported, link)
	case !n.mode.IsFile():
		return entry{}, fmt.Errorf("%s: unsupported target mode %s", link, n.mode)
	}
	return p.file(path, n.mode, n.hash)
}

// show names rel (relative to the tree being written) in messages, as a
// path of the repository.
func (p *planner) show(rel string) string {
	switch {
	case p.base == "":
		return orRoot(rel)
	case rel == "":
		return p.base
	}
	return p.base + "/" + rel
}

// checkName refuses tree entry names git never writes but a crafted tree
// may hold, and ".git", which would turn the destination into a repository.
func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return errors.New("is not a file name")
	case strings.ContainsAny(name, "/\x00"):
		return errors.New("holds \"/\" or NUL")
	case strings.EqualFold(name, ".git"):
		return errors.New("would make the destination a git repository")
	}
	return nil
}

func orRoot(rel string) string {
	if rel == "" {
		return "the root"
	}
	return rel
}
