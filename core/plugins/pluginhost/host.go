package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/mmbuild/mmbuild/core/plugins/binary"
	"github.com/mmbuild/mmbuild/sdk/host"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// FindFunc returns the path of the plugin binary called name.
type FindFunc func(name string) (string, error)

// PinFunc returns the pinned "sha256:<hex>" of the plugin called name for
// this platform, and whether there is one.
type PinFunc func(name string) (string, bool)

// Plugin is a started plugin process.
type Plugin struct {
	Name   string
	Path   string
	SHA256 string // "sha256:<hex>", verified before the process started
	Pinned bool
	Info   *plugin.Info
	Conn   *host.Conn

	client *goplugin.Client
	stderr *tail
	box    Box // nil unless started by StartBoxed, and once ended
}

// Exited reports whether the plugin process has ended (never, for an
// attached plugin).
func (p *Plugin) Exited() bool { return p.client != nil && p.client.Exited() }

// Explain turns an error from a call to p into one that says the plugin
// crashed, with the first line it printed about it, when that is what
// happened.
func (p *Plugin) Explain(err error) error {
	if err == nil || p.client == nil || !errors.Is(err, host.ErrConnection) {
		return err
	}
	// Give the process a moment to be reaped so Exited is accurate.
	for i := 0; i < 20 && !p.client.Exited(); i++ {
		time.Sleep(5 * time.Millisecond)
	}
	msg := fmt.Sprintf("plugin %s (%s) crashed", p.Name, p.Path)
	if last := p.stderr.firstPanicOrLast(); last != "" {
		msg += ": " + last
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// Host starts and stops the plugins of one run.
type Host struct {
	find          FindFunc
	pin           PinFunc
	allowUnpinned bool
	logger        hclog.Logger
	env           []string
	startTimeout  time.Duration
	startErr      error // a start timeout that could not be read: every Start fails with it

	attached map[string]*host.Conn
	resolver Resolver
	ctx      context.Context // the first Start's: its end means the run was interrupted
	sums     *binary.SumCache

	// The folder the plugins create their gRPC sockets in, made on the
	// first launch (socketDir) and removed by Close. A plugin ended by a
	// signal cannot unlink its own socket, and in the shared temp folder
	// every run would leave one per plugin.
	socketOnce sync.Once
	sockets    string
	socketErr  error

	mu      sync.Mutex
	started map[string]*startResult
	procs   map[string]*process // by the sha256 of the binary they run
}

// process is one plugin process. The plugins of a bundle (sdk ServeBundle)
// installed under several names are one binary, so one sha256: the first
// of them to start launches the process, the others are served by it.
type process struct {
	done  chan struct{} // closed once launched (or failed)
	first *Plugin       // the plugin that launched it
	err   error
}

type startResult struct {
	done chan struct{}
	p    *Plugin
	err  error
}

// Option configures a Host.
type Option func(*Host)

// WithAllowUnpinned starts plugins that have no lock entry (their sha256 is
// still computed and recorded). Default: refused.
func WithAllowUnpinned(allow bool) Option { return func(h *Host) { h.allowUnpinned = allow } }

// WithLogger sets where plugin logs are relayed, each message and value
// cut to host.MaxRelayed bytes. Default: discarded.
func WithLogger(l hclog.Logger) Option { return func(h *Host) { h.logger = relayed(l) } }

// DefaultStartTimeout bounds a plugin's start, handshake and first call.
const DefaultStartTimeout = 20 * time.Second

// StartTimeoutEnv names the variable that sets the start timeout.
const StartTimeoutEnv = "MMBUILD_PLUGIN_START_TIMEOUT"

// StartTimeout is $MMBUILD_PLUGIN_START_TIMEOUT (a Go duration), else
// DefaultStartTimeout. A value that is not a positive duration is an
// error, not the default: a typo must not silently change the bound.
func StartTimeout() (time.Duration, error) {
	v := os.Getenv(StartTimeoutEnv)
	if v == "" {
		return DefaultStartTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("$%s=%q is not a duration such as 20s or 2m", StartTimeoutEnv, v)
	}
	return d, nil
}

// WithSumCache remembers verified binaries' sums in c, so an unchanged
// binary is not re-hashed on every run. Default: none (every start hashes).
func WithSumCache(c *binary.SumCache) Option { return func(h *Host) { h.sums = c } }

// WithEnv sets the plugin processes' environment. Default: BaseEnv of the
// running environment.
func WithEnv(env []string) Option { return func(h *Host) { h.env = env } }

// New returns a Host that finds binaries with find and pins with pin.
func New(find FindFunc, pin PinFunc, opts ...Option) *Host {
	h := &Host{
		find:         find,
		pin:          pin,
		logger:       hclog.NewNullLogger(),
		startTimeout: DefaultStartTimeout,
		started:      map[string]*startResult{},
		procs:        map[string]*process{},
		resolver:     ByName{},
	}
	h.startTimeout, h.startErr = StartTimeout()
	for _, o := range opts {
		o(h)
	}
	if h.env == nil {
		h.env = BaseEnv(os.Environ())
	}
	return h
}

// Start starts the plugin called name once; later calls (also concurrent
// ones) return the same process.
func (h *Host) Start(ctx context.Context, name string) (*Plugin, error) {
	if h.startErr != nil {
		return nil, h.startErr
	}
	h.mu.Lock()
	if h.ctx == nil {
		h.ctx = ctx
	}
	r, ok := h.started[name]
	if !ok {
		r = &startResult{done: make(chan struct{})}
		h.started[name] = r
		h.mu.Unlock()
		r.p, r.err = h.start(ctx, name)
		close(r.done)
	} else {
		h.mu.Unlock()
	}
	select {
	case <-r.done:
		return r.p, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// StartAll starts the named plugins concurrently. The first error is
// returned; plugins already started are still stopped by Close.
func (h *Host) StartAll(ctx context.Context, names []string) (map[string]*Plugin, error) {
	type res struct {
		name string
		p    *Plugin
		err  error
	}
	ch := make(chan res, len(names))
	seen := map[string]bool{}
	n := 0
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		n++
		go func() {
			p, err := h.Start(ctx, name)
			ch <- res{name, p, err}
		}()
	}
	out := map[string]*Plugin{}
	var errs []error
	for i := 0; i < n; i++ {
		r := <-ch
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		out[r.name] = r.p
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return out, nil
}

// Close stops every plugin process this Host started, concurrently.
func (h *Host) Close() {
	h.mu.Lock()
	// When the context plugins were started with has ended, a handler may
	// still be stopping the build.
	interrupted := h.ctx != nil && h.ctx.Err() != nil
	var wg sync.WaitGroup
	for _, pr := range h.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-pr.done
			switch {
			case pr.first == nil:
			case interrupted && h.servesHandler(pr.first.client):
				// A handler may still be ending an interrupted build
				// (SIGTERM to its process group, then SIGKILL): go-plugin's
				// graceful stop lets that finish.
				pr.first.client.Kill()
			default:
				stop(pr.first.client)
			}
		}()
	}
	h.mu.Unlock()
	wg.Wait()
	h.release()
}

// CloseNoWait stops every plugin like Close, for a process that exits
// next: each plugin process is sent SIGKILL, which ends it before it runs
// another instruction of its own, and its reaping (go-plugin's, or init's
// once mmbuild has exited) is not waited for. That wait was a tenth of a
// small build's overhead. An interrupted run, whose handler may still be
// stopping the build, and a start still under way get Close.
func (h *Host) CloseNoWait() {
	h.mu.Lock()
	wait := h.ctx != nil && h.ctx.Err() != nil
	for _, pr := range h.procs {
		select {
		case <-pr.done:
		default:
			wait = true
		}
	}
	h.mu.Unlock()
	if wait {
		h.Close()
		return
	}
	h.mu.Lock()
	for _, pr := range h.procs {
		if pr.first != nil {
			killProcess(pr.first.client)
		}
	}
	h.mu.Unlock()
	h.release()
}

// release removes the sockets' folder and saves the sum cache: what is
// left once the plugins are stopped.
func (h *Host) release() {
	h.socketOnce.Do(func() {}) // no folder is made after Close
	if h.sockets != "" {
		_ = os.RemoveAll(h.sockets)
	}
	if h.sums != nil {
		_ = h.sums.Save() // a cache not written only costs a hash next time
	}
}

// servesHandler reports whether a plugin started on the process of client
// serves a handler.
func (h *Host) servesHandler(client *goplugin.Client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.started {
		select {
		case <-r.done:
			if r.p != nil && r.p.client == client && r.p.servesHandler() {
				return true
			}
		default:
		}
	}
	return false
}

func (p *Plugin) servesHandler() bool {
	for _, k := range p.Info.Kinds {
		if strings.HasPrefix(k, "handler:") {
			return true
		}
	}
	return false
}

// socketDir returns the folder for the plugins' sockets, made once.
func (h *Host) socketDir() (string, error) {
	h.socketOnce.Do(func() { h.sockets, h.socketErr = makeSocketDir() })
	if h.sockets == "" && h.socketErr == nil {
		return "", errors.New("the plugin host is closed")
	}
	return h.sockets, h.socketErr
}

// makeSocketDir makes the sockets' folder in the user's runtime folder (a
// tmpfs meant for sockets), else in /dev/shm, else in the temp folder. On a
// disk file system every socket is a new inode, and allocating one was a
// quarter of a plugin's start-up on a busy /tmp.
func makeSocketDir() (string, error) {
	for _, parent := range []string{os.Getenv("XDG_RUNTIME_DIR"), "/dev/shm"} {
		if parent == "" {
			continue
		}
		if dir, err := os.MkdirTemp(parent, "mmbuild-plugins-"); err == nil {
			return dir, nil
		}
	}
	return os.MkdirTemp("", "mmbuild-plugins-")
}

// killProcess SIGKILLs the plugin's process, if it has one yet.
func killProcess(c *goplugin.Client) {
	if rc := c.ReattachConfig(); rc != nil && rc.Pid > 0 {
		if proc, err := os.FindProcess(rc.Pid); err == nil {
			_ = proc.Kill()
		}
	}
}

// stop ends a plugin that has nothing left to do: every call of the run
// has returned, so there is nothing to flush and no graceful shutdown to
// wait for. The process is killed, then go-plugin reaps it.
func stop(c *goplugin.Client) {
	killProcess(c)
	c.Kill()
}

// Plugins returns the plugins started so far.
func (h *Host) Plugins() []*Plugin {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Plugin
	for _, r := range h.started {
		select {
		case <-r.done:
			if r.p != nil {
				out = append(out, r.p)
			}
		default:
		}
	}
	return out
}
