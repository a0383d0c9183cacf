package project

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/mmbuild/mmbuild/core/plugins/audit"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// ErrNothingToLock is UpdateLock's answer when the search path holds no
// plugin that could be pinned.
var ErrNothingToLock = errors.New("no plugins found to lock (see mmbuild plugins list)")

// NotFoundError reports plugins asked for by name that are not on the
// search path. It matches fs.ErrNotExist.
type NotFoundError struct {
	Names []string // sorted
}

func (e *NotFoundError) Error() string {
	if len(e.Names) == 1 {
		return fmt.Sprintf("plugin %q not found on the search path", e.Names[0])
	}
	quoted := make([]string, len(e.Names))
	for i, n := range e.Names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return "plugins " + strings.Join(quoted, ", ") + " not found on the search path"
}

func (e *NotFoundError) Unwrap() error { return fs.ErrNotExist }

// PinState says what UpdateLock changed for one plugin.
type PinState string

// The states of a pin.
const (
	Pinned    PinState = "pinned"    // no sum for this platform before
	Unchanged PinState = "unchanged" // the same sum was pinned already
	Updated   PinState = "updated"   // another sum was pinned before
)

// Pin is one plugin pinned by UpdateLock.
type Pin struct {
	Name    string
	Version string // as the plugin described itself
	Path    string
	SHA256  string   // "sha256:<hex>", pinned now
	Kinds   []string // what it serves, as it described itself; sorted
	// Previous is the sum pinned before for this platform; "" when none.
	Previous string
}

// State says whether the pin is new, the same as before, or changed.
func (p Pin) State() PinState {
	switch p.Previous {
	case "":
		return Pinned
	case p.SHA256:
		return Unchanged
	}
	return Updated
}

// LockResult is what UpdateLock wrote.
type LockResult struct {
	Path     string // the lock file written
	Platform string // the platform whose sums were pinned
	Pins     []Pin  // in search-path order
}

// UpdateLock pins the version and sha256 of every plugin that wins on the
// search path (or only those in names) for this platform, keeping other
// platforms' pins, records what each serves (its kinds), and writes the lock
// file to LockPath. Locking is a decision to trust the binaries as they are
// now: each one is asked to describe itself (this executes it), and one that
// speaks another plugin API version, or describes a kind the lock cannot
// record, is refused. Two plugins of the lock (after the update, also those
// not locked this time) that serve one kind are a *ConflictError. Nothing is
// written on an error, and LockFile is changed only once the file is.
func (p *Plugins) UpdateLock(ctx context.Context, names []string) (*LockResult, error) {
	cands, err := discovery.Scan(p.SearchPath)
	if err != nil && len(cands) == 0 {
		return nil, err
	}
	chosen, missing := choose(cands, names, discovery.Runnable)
	if len(missing) > 0 {
		return nil, &NotFoundError{Names: missing}
	}
	if len(chosen) == 0 {
		return nil, ErrNothingToLock
	}
	res := &LockResult{Path: p.LockPath, Platform: lockfile.Platform()}
	for _, c := range chosen {
		pin, err := p.describe(ctx, c, res.Platform)
		if err != nil {
			return nil, err
		}
		res.Pins = append(res.Pins, pin)
	}
	lock := p.lock().Clone()
	for _, pin := range res.Pins {
		if err := lock.Set(pin.Name, pin.Version, res.Platform, pin.SHA256); err != nil {
			return nil, fmt.Errorf("locking plugin %s: %w", pin.Name, err)
		}
		if err := lock.SetKinds(pin.Name, pin.Kinds); err != nil {
			return nil, fmt.Errorf("locking plugin %s: %w", pin.Name, err)
		}
	}
	if c := lock.Conflicts(); len(c) > 0 {
		e := newConflictError(c[0], res.Pins, p.LockPath)
		e.More = len(c) - 1
		return nil, e
	}
	if err := lock.Write(p.LockPath); err != nil {
		return nil, err
	}
	p.setLock(lock)
	return res, nil
}

// ConflictError reports plugins of one lock that serve the same kind: a
// handler id or a URL scheme must name one plugin.
type ConflictError struct {
	Kind     string // "storage:https"
	Plugins  []string
	Paths    map[string]string // the binaries of the plugins locked now
	LockPath string            // where the others are pinned
	More     int               // how many more kinds are served twice
}

func newConflictError(c lockfile.Conflict, pins []Pin, lockPath string) *ConflictError {
	e := &ConflictError{Kind: c.Kind, Plugins: c.Plugins, Paths: map[string]string{}, LockPath: lockPath}
	for _, pin := range pins {
		if slices.Contains(c.Plugins, pin.Name) {
			e.Paths[pin.Name] = pin.Path
		}
	}
	return e
}

// Error returns one line: `plugins "http" (/p/mmbuild-plugin-http) and
// "web" (pinned in …/mmbuild.lock.hcl, not locked now) both serve
// storage:https, …`, with what to do about it.
func (e *ConflictError) Error() string {
	named := make([]string, len(e.Plugins))
	var stale, fresh []string
	for i, n := range e.Plugins {
		where, ok := e.Paths[n]
		if ok {
			fresh = append(fresh, strconv.Quote(n))
		} else {
			stale = append(stale, strconv.Quote(n))
			where = "pinned in " + e.LockPath + ", not locked now"
		}
		named[i] = fmt.Sprintf("%q (%s)", n, where)
	}
	both := "both"
	if len(named) > 2 {
		both = "all"
	}
	hint := "lock only the one to use (`mmbuild plugins lock NAME`) or remove the others from the search path"
	if len(stale) > 0 {
		hint = fmt.Sprintf("delete the block of %s from the lock file, or do not lock %s", andList(stale), andList(fresh))
	}
	more := ""
	switch {
	case e.More == 1:
		more = " (and 1 more kind is served twice)"
	case e.More > 1:
		more = fmt.Sprintf(" (and %d more kinds are served twice)", e.More)
	}
	return fmt.Sprintf("plugins %s %s serve %s%s, but a kind must be served by one plugin: %s; nothing was written",
		andList(named), both, e.Kind, more, hint)
}

// andList joins items for a message: "a", "a and b", "a, b and c".
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// choose picks the candidates to lock: those that win on the search path
// (not shadowed, runnable), only those in names when names are given. missing
// lists the names (sorted, once each) that no candidate answers.
func choose(cands []discovery.Candidate, names []string, runnable func(string) bool) (chosen []discovery.Candidate, missing []string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, c := range cands {
		if c.ShadowedBy != "" || !runnable(c.Path) || (len(names) > 0 && !want[c.Name]) {
			continue
		}
		delete(want, c.Name)
		chosen = append(chosen, c)
	}
	for n := range want {
		missing = append(missing, n)
	}
	slices.Sort(missing)
	return chosen, missing
}

// describe hashes c, asks it to describe itself and checks its API version.
func (p *Plugins) describe(ctx context.Context, c discovery.Candidate, platform string) (Pin, error) {
	sum, err := discovery.SHA256(c.Path)
	if err != nil {
		return Pin{}, fmt.Errorf("locking plugin %s: %w", c.Name, err)
	}
	info, err := audit.Describe(ctx, c.Path, sum, p.o.audit...)
	if err != nil {
		return Pin{}, fmt.Errorf("locking plugin %s: %w", c.Name, err)
	}
	if info.APIVersion != plugin.APIVersion {
		return Pin{}, fmt.Errorf("locking plugin %s (%s): it speaks plugin API v%d, this mmbuild speaks v%d", c.Name, c.Path, info.APIVersion, plugin.APIVersion)
	}
	for _, k := range info.Kinds {
		if _, _, err := lockfile.ParseKind(k); err != nil {
			return Pin{}, fmt.Errorf("locking plugin %s (%s): it describes a kind this mmbuild cannot record: %w", c.Name, c.Path, err)
		}
	}
	kinds := slices.Compact(slices.Sorted(slices.Values(info.Kinds)))
	pin := Pin{Name: c.Name, Version: info.Version, Path: c.Path, SHA256: sum, Kinds: kinds}
	if prev, ok := p.lock().Pin(c.Name); ok {
		pin.Previous, _ = prev.Sum(platform)
	}
	return pin, nil
}
