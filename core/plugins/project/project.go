package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/mmbuild/mmbuild/core/plugins/audit"
	"github.com/mmbuild/mmbuild/core/plugins/binary"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
)

// Plugins is the plugin set of one project: where its plugins are
// searched and the lock file that pins them. Get one from Open.
type Plugins struct {
	// Dir is the project folder, absolute; its .mmbuild/plugins is on the
	// search path.
	Dir string
	// LockPath is the lock file in use: the one FindLock found, or, when
	// there is none, the one beside the project that UpdateLock creates.
	LockPath string
	// LockFile is LockPath's content (empty, and Missing, when there is no
	// file). UpdateLock replaces it with what it wrote; it is not changed in
	// place.
	LockFile *lockfile.File
	// SearchPath is where plugin binaries are looked for, in order.
	SearchPath []discovery.Dir

	o options

	// recorded: LockFile holds the plugins an attestation records
	// (OpenRecorded), not a lock file's pins.
	recorded bool

	// mu guards LockFile against UpdateLock, and the resolver's state.
	mu       sync.Mutex
	resolved map[string]resolution // kind → plugin, memoised
	fallback *servedIndex          // what unrecorded plugins serve; nil until needed
}

// lock returns LockFile, read under mu.
func (p *Plugins) lock() *lockfile.File {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.LockFile
}

// setLock makes f the LockFile and forgets what was resolved from the old
// one. The old File is left as it was, so whoever still reads it (a host
// checking a pin) reads a consistent lock.
func (p *Plugins) setLock(f *lockfile.File) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.LockFile = f
	p.resolved, p.fallback = nil, nil
}

type options struct {
	lockDirs      []string
	allowUnpinned bool
	logger        hclog.Logger
	discovery     []discovery.Option
	audit         []audit.Option
}

// Option configures Open.
type Option func(*options)

// WithLockDirs adds folders to look for a lock file in when neither the
// project folder nor one above it has one (a pipeline's own folder).
// Default: none.
func WithLockDirs(dirs ...string) Option {
	return func(o *options) { o.lockDirs = append(o.lockDirs, dirs...) }
}

// WithAllowUnpinned lets Host start plugins that have no lock entry.
// Default: refused.
func WithAllowUnpinned(allow bool) Option { return func(o *options) { o.allowUnpinned = allow } }

// WithLogger sets the logger Host's plugins log to (as l.Named("plugin"),
// and at l's level). Default: discarded.
func WithLogger(l hclog.Logger) Option { return func(o *options) { o.logger = l } }

// WithDiscovery adds options for building the search path (the project
// folder is always set). Default: none.
func WithDiscovery(opts ...discovery.Option) Option {
	return func(o *options) { o.discovery = append(o.discovery, opts...) }
}

// WithAuditOptions sets the options Audit and UpdateLock describe plugins
// with (the describe cache, the timeout). Default: none.
func WithAuditOptions(opts ...audit.Option) Option {
	return func(o *options) { o.audit = append(o.audit, opts...) }
}

func newOptions(opts []Option) options {
	o := options{logger: hclog.NewNullLogger()}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Open finds the plugin set of the project in dir ("" is the current
// folder): the lock file, by FindLock, and the plugin search path, by
// discovery.SearchPath with the project folder. The lock file is read; a
// missing one is not an error.
func Open(dir string, opts ...Option) (*Plugins, error) {
	o := newOptions(opts)
	dir, err := absDir(dir)
	if err != nil {
		return nil, err
	}
	lockPath, _ := FindLock(dir, o.lockDirs...)
	lock, err := lockfile.Load(lockPath)
	if err != nil {
		return nil, err
	}
	search := discovery.SearchPath(append([]discovery.Option{discovery.WithProjectDir(dir)}, o.discovery...)...)
	return &Plugins{Dir: dir, LockPath: lockPath, LockFile: lock, SearchPath: search, o: o}, nil
}

// OpenHost is Open followed by Host: the plugin host of the project in dir.
func OpenHost(dir string, opts ...Option) (*pluginhost.Host, error) {
	p, err := Open(dir, opts...)
	if err != nil {
		return nil, err
	}
	return p.Host(), nil
}

func absDir(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("finding the project folder: %w", err)
	}
	return abs, nil
}

// FindLock returns the lock file (lockfile.FileName) of the project in dir,
// like go.work: the one in dir, else in the nearest folder above it up to
// the repository root (the nearest folder holding .git; without one, only
// dir is looked in), else in the first of extra that has one. found is
// false when there is none; path is then the one beside dir.
func FindLock(dir string, extra ...string) (path string, found bool) {
	for _, d := range append(lockDirs(dir), extra...) {
		p := filepath.Join(d, lockfile.FileName)
		// Anything but "not there" counts as found, so that an unreadable
		// lock file is reported instead of silently passed over.
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			return p, true
		}
	}
	return filepath.Join(dir, lockfile.FileName), false
}

// lockDirs lists dir and the folders above it up to the repository root;
// only dir when no folder above holds .git.
func lockDirs(dir string) []string {
	dir = filepath.Clean(dir)
	var dirs []string
	for d := dir; ; {
		dirs = append(dirs, d)
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return dirs
		}
		parent := filepath.Dir(d)
		if parent == d {
			return []string{dir}
		}
		d = parent
	}
}

// Host returns a plugin host that finds plugins on the search path, checks
// them against the lock file, and resolves handler ids and URL schemes to
// plugins with p (see Handler and Storage). Plugins get the base
// environment and MMBUILD_PLUGIN_LOG_LEVEL, the level of the WithLogger
// logger.
func (p *Plugins) Host() *pluginhost.Host {
	platform := lockfile.Platform()
	find := func(name string) (string, error) {
		c, err := discovery.Find(p.SearchPath, name)
		if err != nil {
			if p.lock().Missing() {
				return "", fmt.Errorf("%w (and there is no %s)", err, p.LockPath)
			}
			return "", err
		}
		return c.Path, nil
	}
	pin := func(name string) (string, bool) {
		e, ok := p.lock().Pin(name)
		if !ok {
			return "", false
		}
		return e.Sum(platform)
	}
	env := append(pluginhost.BaseEnv(os.Environ()), "MMBUILD_PLUGIN_LOG_LEVEL="+levelName(p.o.logger))
	return pluginhost.New(find, pin,
		pluginhost.WithAllowUnpinned(p.o.allowUnpinned),
		pluginhost.WithLogger(p.o.logger.Named("plugin")),
		pluginhost.WithEnv(env),
		pluginhost.WithResolver(p),
		// An unchanged binary is not re-hashed on every run.
		pluginhost.WithSumCache(binary.DefaultSumCache()),
	)
}

// levelName is l's level as MMBUILD_PLUGIN_LOG_LEVEL spells it.
func levelName(l hclog.Logger) string {
	switch {
	case l.IsTrace():
		return "trace"
	case l.IsDebug():
		return "debug"
	case l.IsInfo():
		return "info"
	case l.IsWarn():
		return "warn"
	}
	return "error"
}
