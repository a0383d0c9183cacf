package project

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
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
	SHA256  string // "sha256:<hex>", pinned now
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
// platforms' pins, and writes the lock file to LockPath. Locking is a
// decision to trust the binaries as they are now: each one is asked to
// describe itself (this executes it), and one that speaks another plugin
// API version is refused. Nothing is written on an error.
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
	for _, pin := range res.Pins {
		if err := p.LockFile.Set(pin.Name, pin.Version, res.Platform, pin.SHA256); err != nil {
			return nil, fmt.Errorf("locking plugin %s: %w", pin.Name, err)
		}
	}
	if err := p.LockFile.Write(p.LockPath); err != nil {
		return nil, err
	}
	return res, nil
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
	pin := Pin{Name: c.Name, Version: info.Version, Path: c.Path, SHA256: sum}
	if prev, ok := p.LockFile.Pin(c.Name); ok {
		pin.Previous, _ = prev.Sum(platform)
	}
	return pin, nil
}
