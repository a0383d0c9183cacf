package project

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/mmbuild/mmbuild/core/plugins/audit"
	"github.com/mmbuild/mmbuild/core/plugins/binary"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

var _ pluginhost.Resolver = (*Plugins)(nil)

// Handler names the plugin that serves handler id (implements
// pluginhost.Resolver). See Storage.
func (p *Plugins) Handler(id string) (string, error) {
	return p.resolve(plugin.KindHandler, id)
}

// Storage names the plugin that serves URL scheme (implements
// pluginhost.Resolver): the one whose lock entry records the kind
// "storage:<scheme>". Only when no entry does (no lock file, a lock written
// before kinds were recorded, or an unpinned plugin run with
// WithAllowUnpinned) are the plugins the lock records nothing for asked
// what they serve: the winners of the search path that may run (pinned for
// this platform with a matching sum, or any with WithAllowUnpinned, and
// not writable by others), with audit.Describe, whose answer is cached by
// sha256 (WithAuditOptions), so a binary runs for it once. None serving it
// is a *NotServedError, more than one an *AmbiguousError. Answers are
// memoised until UpdateLock changes the lock; Storage and Handler are safe
// for concurrent use.
func (p *Plugins) Storage(scheme string) (string, error) {
	return p.resolve(plugin.KindStorage, strings.ToLower(scheme))
}

// Cataloger names the plugin that serves SBOM cataloger id (kind
// "sbom:<id>"), as Storage does for a scheme.
func (p *Plugins) Cataloger(id string) (string, error) {
	return p.resolve(plugin.KindSBOM, id)
}

// PinnedCatalogers lists, sorted, the SBOM cataloger ids ("sbom:<id>")
// the lock pins a plugin for.
func (p *Plugins) PinnedCatalogers() []string {
	if p.LockFile == nil {
		return nil
	}
	var ids []string
	for _, k := range p.LockFile.Kinds(plugin.KindSBOM) {
		ids = append(ids, strings.TrimPrefix(k, plugin.KindSBOM+":"))
	}
	return ids
}

type resolution struct {
	name string
	err  error
}

func (p *Plugins) resolve(class, id string) (string, error) {
	kind := class + ":" + id
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.resolved[kind]; ok {
		return r.name, r.err
	}
	name, err := p.resolveLocked(kind)
	if p.resolved == nil {
		p.resolved = map[string]resolution{}
	}
	p.resolved[kind] = resolution{name, err}
	return name, err
}

// resolveLocked resolves kind; p.mu is held.
func (p *Plugins) resolveLocked(kind string) (string, error) {
	if _, _, err := lockfile.ParseKind(kind); err != nil {
		return "", fmt.Errorf("no plugin can serve %s: want lower case [a-z][a-z0-9+.-]*", kindName(kind))
	}
	switch claims := p.LockFile.Claims(kind); len(claims) {
	case 0:
	case 1:
		return claims[0], nil
	default: // Load refuses such a lock; only a File changed in memory has one
		return "", &AmbiguousError{Kind: kind, Plugins: claims, LockPath: p.LockPath}
	}
	if p.fallback == nil {
		p.fallback = p.scanServed()
	}
	switch names := p.fallback.serves[kind]; len(names) {
	case 0:
		return "", p.fallback.notServed(kind)
	case 1:
		return names[0], nil
	default:
		return "", &AmbiguousError{Kind: kind, Plugins: names}
	}
}

// servedIndex is what the plugins on the search path that the lock records
// no kinds for say they serve.
type servedIndex struct {
	serves      map[string][]string // kind → plugins, in search-path order
	searched    []string
	unpinned    []string // not asked: no pin for this platform, unpinned not allowed
	skipped     []string // not asked or no answer: `"name" (why)`
	lockPath    string
	lockMissing bool
	// recorded: the pins are an attestation's (OpenRecorded);
	// notInstalled lists its plugins that are not installed.
	recorded     bool
	notInstalled []string
}

func (p *Plugins) scanServed() *servedIndex {
	idx := &servedIndex{serves: map[string][]string{}, lockPath: p.LockPath, lockMissing: p.LockFile.Missing(), recorded: p.recorded}
	seen := map[string]bool{}
	for _, d := range p.SearchPath {
		if !seen[d.Path] {
			seen[d.Path] = true
			idx.searched = append(idx.searched, d.Path)
		}
	}
	cands, err := discovery.Scan(p.SearchPath)
	if err != nil {
		idx.skipped = append(idx.skipped, oneLine(err.Error()))
	}
	if p.recorded {
		idx.notInstalled = p.notInstalled(cands)
	}
	platform := lockfile.Platform()
	type ask struct {
		c      discovery.Candidate
		pinned string // "" when unpinned (and allowed)
		kinds  []string
		err    error
	}
	var asks []*ask
	for _, c := range cands {
		if c.ShadowedBy != "" || !discovery.Runnable(c.Path) {
			continue
		}
		e, inLock := p.LockFile.Pin(c.Name)
		if inLock && e.Kinds != nil {
			continue // the lock says what it serves
		}
		pinned, ok := e.Sum(platform)
		if !ok && !p.o.allowUnpinned {
			idx.unpinned = append(idx.unpinned, c.Name)
			continue
		}
		asks = append(asks, &ask{c: c, pinned: pinned})
	}
	next := make(chan *ask)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(asks)) {
		wg.Go(func() {
			for a := range next {
				a.kinds, a.err = p.askKinds(a.c, a.pinned)
			}
		})
	}
	for _, a := range asks {
		next <- a
	}
	close(next)
	wg.Wait()
	for _, a := range asks {
		if a.err != nil {
			idx.skipped = append(idx.skipped, fmt.Sprintf("%q (%s)", a.c.Name, oneLine(a.err.Error())))
			continue
		}
		for _, k := range a.kinds {
			idx.serves[k] = append(idx.serves[k], a.c.Name)
		}
	}
	return idx
}

// askKinds says what a binary that may run serves (see describeRunnable).
func (p *Plugins) askKinds(c discovery.Candidate, pinned string) ([]string, error) {
	info, err := p.describeRunnable(context.Background(), c, pinned)
	var insecure *binary.InsecureError
	if errors.As(err, &insecure) {
		return nil, fmt.Errorf("refused: %s", insecure.Reason)
	}
	if err != nil {
		return nil, err
	}
	return info.Kinds, nil
}

// describeRunnable runs `PLUGIN describe` (or reads its cached answer) for
// a binary that may run: not writable by others (a *binary.InsecureError
// otherwise), its sum the pinned one (pinned "" when it is unpinned and
// that is allowed), speaking this mmbuild's plugin API.
func (p *Plugins) describeRunnable(ctx context.Context, c discovery.Candidate, pinned string) (*plugin.Info, error) {
	if why := binary.Insecure(c.Path); why != "" {
		return nil, &binary.InsecureError{Path: c.Path, Reason: why}
	}
	sum, err := discovery.SHA256(c.Path)
	if err != nil {
		return nil, err
	}
	if pinned != "" && sum != pinned {
		return nil, fmt.Errorf("binary is %s but %s %s", sum, p.pinnedBy(), pinned)
	}
	info, err := audit.Describe(ctx, c.Path, sum, p.o.audit...)
	if err != nil {
		return nil, err
	}
	if info.APIVersion != plugin.APIVersion {
		return nil, fmt.Errorf("speaks plugin API v%d, this mmbuild speaks v%d", info.APIVersion, plugin.APIVersion)
	}
	return info, nil
}

func (idx *servedIndex) notServed(kind string) *NotServedError {
	return &NotServedError{
		Kind: kind, Searched: idx.searched, Unpinned: idx.unpinned, Skipped: idx.skipped,
		LockPath: idx.lockPath, LockMissing: idx.lockMissing,
		Recorded: idx.recorded, NotInstalled: idx.notInstalled,
	}
}

// NotServedError reports a handler id or URL scheme that no plugin the run
// could start serves. It matches fs.ErrNotExist.
type NotServedError struct {
	Kind     string   // "handler:make", "storage:s3"
	Searched []string // the search path
	// Unpinned lists the plugins not asked what they serve because they
	// are not pinned for this platform (and unpinned plugins may not run).
	Unpinned []string
	// Skipped says which plugins were not asked, or gave no answer, and
	// why: `"name" (reason)`.
	Skipped     []string
	LockPath    string
	LockMissing bool
	// Recorded: the plugins are those an attestation records
	// (OpenRecorded), not a lock file's; NotInstalled lists the recorded
	// ones not installed: `"name" version sha256:…`. A recorded plugin whose
	// installed binary differs is in Skipped.
	Recorded     bool
	NotInstalled []string
}

// Error returns one line: `no installed plugin serves URL scheme "s3"
// (searched: /a, /b): …`, with what to do about it.
func (e *NotServedError) Error() string {
	var why []string
	switch {
	case len(e.Searched) == 0:
		why = append(why, "no plugin directories to search")
	default:
		why = append(why, "searched: "+strings.Join(e.Searched, ", "))
	}
	if e.Recorded {
		return e.recordedError(why)
	}
	if e.LockMissing {
		why = append(why, "there is no "+e.LockPath)
	} else {
		why = append(why, "none is recorded for it in "+e.LockPath)
	}
	if len(e.Skipped) > 0 {
		why = append(why, "skipped: "+strings.Join(e.Skipped, ", "))
	}
	if len(e.Unpinned) > 0 {
		why = append(why, "not pinned, so not asked: "+strings.Join(quoteAll(e.Unpinned), ", "))
		return fmt.Sprintf("no pinned plugin serves %s (%s): run `mmbuild plugins lock` to pin the installed plugins, or pass --allow-unpinned",
			kindName(e.Kind), strings.Join(why, "; "))
	}
	return fmt.Sprintf("no installed plugin serves %s (%s): install one (`mmbuild plugins install`), then pin it with `mmbuild plugins lock`",
		kindName(e.Kind), strings.Join(why, "; "))
}

// recordedError is Error for an attestation's plugins: which recorded
// plugin is missing, which differs.
func (e *NotServedError) recordedError(why []string) string {
	if len(e.NotInstalled) > 0 {
		why = append(why, "recorded but not installed: "+strings.Join(e.NotInstalled, ", "))
	}
	if len(e.Skipped) > 0 {
		why = append(why, "recorded but installed differently: "+strings.Join(e.Skipped, ", "))
	}
	if len(e.Unpinned) > 0 {
		why = append(why, "installed but not recorded, so not asked: "+strings.Join(quoteAll(e.Unpinned), ", "))
	}
	return fmt.Sprintf("no installed plugin the attestation records serves %s (%s): install the plugin builds it records (name and sha256), or pass --allow-unpinned to use others",
		kindName(e.Kind), strings.Join(why, "; "))
}

// Unwrap makes errors.Is(err, fs.ErrNotExist) true.
func (e *NotServedError) Unwrap() error { return fs.ErrNotExist }

// AmbiguousError reports a handler id or URL scheme that more than one
// plugin serves.
type AmbiguousError struct {
	Kind    string
	Plugins []string
	// LockPath is set when the lock records the kind for all of them.
	LockPath string
}

// Error returns one line naming the plugins and the kind.
func (e *AmbiguousError) Error() string {
	quoted := quoteAll(e.Plugins)
	both := "both"
	if len(quoted) > 2 {
		both = "all"
	}
	where, hint := "on the search path", "pin the one to use with `mmbuild plugins lock NAME`, or remove the others from the search path"
	if e.LockPath != "" {
		where, hint = "in "+e.LockPath, "keep one of them in the lock file"
	}
	return fmt.Sprintf("plugins %s %s %s serve %s: %s",
		andList(quoted), where, both, kindName(e.Kind), hint)
}

// kindName says what a kind is in the words of a build config: `handler
// "make"`, `URL scheme "s3"`.
func kindName(kind string) string {
	class, id, _ := strings.Cut(kind, ":")
	switch class {
	case plugin.KindStorage:
		return fmt.Sprintf("URL scheme %q", id)
	case plugin.KindSBOM:
		return fmt.Sprintf("SBOM generator %q", id)
	}
	return fmt.Sprintf("%s %q", class, id)
}

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// quoteAll returns names, each quoted.
func quoteAll(names []string) []string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return quoted
}
