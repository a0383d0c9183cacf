package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/mmbuild/mmbuild/core/plugins/binary"
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
	Conn   *plugin.Conn

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
	if err == nil || p.client == nil || !errors.Is(err, plugin.ErrConnection) {
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

	attached map[string]*plugin.Conn
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
// cut to plugin.MaxRelayed bytes. Default: discarded.
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

// ChecksumError reports a plugin binary that differs from its pin.
type ChecksumError struct {
	Name, Path, Pinned, Actual string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("plugin %s (%s): binary is %s but mmbuild.lock.hcl pins %s; refusing to start it (reinstall the pinned build, or run `mmbuild plugins lock` if the change is expected)",
		e.Name, e.Path, e.Actual, e.Pinned)
}

// UnpinnedError reports a plugin without a lock entry.
type UnpinnedError struct{ Name, Path, SHA256 string }

func (e *UnpinnedError) Error() string {
	return fmt.Sprintf("plugin %s (%s, %s) is not pinned in mmbuild.lock.hcl: run `mmbuild plugins lock` to pin it, or pass --allow-unpinned", e.Name, e.Path, e.SHA256)
}

func (h *Host) start(ctx context.Context, name string) (*Plugin, error) {
	if conn, ok := h.attached[name]; ok {
		return attach(ctx, name, conn)
	}
	path, bin, sum, pinned, err := h.findVerified(name)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	pr, running := h.procs[sum]
	if !running {
		pr = &process{done: make(chan struct{})}
		h.procs[sum] = pr
	}
	h.mu.Unlock()
	if running {
		// The same bytes already run (or are starting) for another plugin:
		// a bundle serves this one too.
		bin.Close()
		return h.share(ctx, pr, name, path, pinned)
	}
	pr.first, pr.err = h.launchVerified(ctx, name, path, bin, sum, pinned, nil)
	close(pr.done)
	return pr.first, pr.err
}

// share returns the plugin called name served by the process pr runs: a
// bundle's other plugin, asked for its own Info.
func (h *Host) share(ctx context.Context, pr *process, name, path string, pinned bool) (*Plugin, error) {
	select {
	case <-pr.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if pr.err != nil {
		return nil, fmt.Errorf("plugin %s (%s) is the binary of a plugin that did not start: %w", name, path, pr.err)
	}
	p := *pr.first
	p.Name, p.Path, p.Pinned, p.Conn = name, path, pinned, pr.first.Conn.Named(name)
	ctx, cancel := context.WithTimeout(ctx, h.startTimeout)
	defer cancel()
	if err := p.describe(ctx); err != nil {
		return nil, err
	}
	if p.Info.Name != name {
		return nil, fmt.Errorf("plugin %s (%s) is the same binary as plugin %s, which serves no plugin %s: install each plugin's own binary", name, path, pr.first.Name, name)
	}
	return &p, nil
}

// launchVerified starts the process of the binary bin that was verified,
// in the box boxer makes (nil: none), hand-shakes and asks it for name's
// Info.
func (h *Host) launchVerified(ctx context.Context, name, path string, bin *binary.File, sum string, pinned bool, boxer Boxer) (*Plugin, error) {
	// The process starts from the descriptor that was verified; it is
	// closed once the plugin runs (the child does not inherit it).
	defer bin.Close()
	var cmd *exec.Cmd
	var box Box
	if boxer != nil {
		var err error
		if cmd, box, err = h.boxedCommand(boxer, bin.Descriptor(), path); err != nil {
			return nil, fmt.Errorf("plugin %s: %w", name, err)
		}
	} else {
		execPath, err := bin.ExecPath()
		if err != nil {
			return nil, err
		}
		cmd = h.command(path, execPath)
	}
	client, st, err := h.launch(cmd, name, path, cmd.Path == path, sum)
	if err != nil {
		if box != nil {
			box.Close()
		}
		return nil, err
	}
	// The handshake, the connection and the first call are bounded: a
	// plugin that hand-shakes to an address nobody answers on must not
	// hang the run, and Ctrl-C must end it.
	ctx, cancel := context.WithTimeout(ctx, h.startTimeout)
	defer cancel()
	type started struct {
		p   *Plugin
		err error
	}
	ch := make(chan started, 1)
	go func() {
		p, err := connect(ctx, client, name, path, sum, pinned, st)
		if err == nil && box != nil {
			if err = box.Started(); err == nil {
				p.box = box
			}
		}
		ch <- started{p, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			stop(client)
			if box != nil {
				box.Close()
			}
		}
		return r.p, r.err
	case <-ctx.Done():
		// go-plugin holds its lock while it connects, so anything that
		// would stop the process can block too: stop it in the background;
		// Pdeathsig ends it with mmbuild at the latest.
		go client.Kill()
		return nil, &StartError{Name: name, Path: path, Stderr: st.firstPanicOrLast(),
			Err: fmt.Errorf("no answer within %v: %w", h.startTimeout, ctx.Err())}
	}
}

// connect hand-shakes with a launched plugin and asks what it serves.
func connect(ctx context.Context, client *goplugin.Client, name, path, sum string, pinned bool, st *tail) (*Plugin, error) {
	rpc, err := client.Client()
	if err != nil {
		return nil, &StartError{Name: name, Path: path, Stderr: lastWords(client, st), Err: err}
	}
	conn, err := plugin.Dispense(rpc)
	if err != nil {
		return nil, &StartError{Name: name, Path: path, Err: err}
	}
	p := &Plugin{Name: name, Path: path, SHA256: sum, Pinned: pinned, Conn: conn.Named(name), client: client, stderr: st}
	if err := p.describe(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// describe asks the plugin for its Info, over its named connection.
func (p *Plugin) describe(ctx context.Context) error {
	info, err := p.Conn.Info(ctx)
	if err != nil {
		return fmt.Errorf("plugin %s (%s): Info: %w", p.Name, p.Path, p.Explain(err))
	}
	p.Info = info
	return nil
}

// findVerified finds the binary of the plugin called name and verifies
// it (see verify).
func (h *Host) findVerified(name string) (string, *binary.File, string, bool, error) {
	path, err := h.find(name)
	if err != nil {
		return "", nil, "", false, err
	}
	bin, sum, pinned, err := h.verify(name, path)
	return path, bin, sum, pinned, err
}

// verify opens the binary at path (refused when anyone but the user or root
// could change it) and checks its sha256 against the pin. The open file is
// what will run.
func (h *Host) verify(name, path string) (*binary.File, string, bool, error) {
	bin, err := binary.Open(path)
	if err != nil {
		return nil, "", false, fmt.Errorf("plugin %s: %w", name, err)
	}
	sum, err := bin.SHA256(h.sums)
	if err != nil {
		bin.Close()
		return nil, "", false, fmt.Errorf("plugin %s: %w", name, err)
	}
	pin, pinned := h.pin(name)
	switch {
	case !pinned && !h.allowUnpinned:
		err = &UnpinnedError{Name: name, Path: path, SHA256: sum}
	case !pinned:
	case !validSum(pin):
		err = fmt.Errorf("plugin %s: malformed pinned sum %q", name, pin)
	case !strings.EqualFold(pin, sum):
		err = &ChecksumError{Name: name, Path: path, Pinned: pin, Actual: sum}
	}
	if err != nil {
		bin.Close()
		return nil, "", false, err
	}
	return bin, sum, pinned, nil
}

func validSum(sum string) bool {
	b, err := hex.DecodeString(strings.TrimPrefix(sum, "sha256:"))
	return err == nil && strings.HasPrefix(sum, "sha256:") && len(b) == sha256.Size
}

// command is the command that runs execPath (argv[0] is the plugin's
// path, for ps and its own messages), its socket in the host's folder.
func (h *Host) command(path, execPath string) *exec.Cmd {
	cmd := exec.Command(execPath)
	cmd.Args[0] = path
	cmd.Env = append([]string(nil), h.env...)
	return cmd
}

// launch prepares the go-plugin client that runs cmd. Where it execs the
// plain path (no /proc/self/fd, plainPath), go-plugin's SecureConfig hashes
// it once more right before the exec.
func (h *Host) launch(cmd *exec.Cmd, name, path string, plainPath bool, sum string) (*goplugin.Client, *tail, error) {
	if !envHas(cmd.Env, goplugin.EnvUnixSocketDir) {
		sockets, err := h.socketDir()
		if err != nil {
			return nil, nil, fmt.Errorf("plugin %s: a folder for its socket: %w", path, err)
		}
		cmd.Env = append(cmd.Env, goplugin.EnvUnixSocketDir+"="+sockets)
	}
	setPdeathsig(cmd)
	st := &tail{}
	cfg := plugin.ClientConfig(cmd)
	if plainPath {
		want, _ := hex.DecodeString(strings.TrimPrefix(sum, "sha256:"))
		cfg.SecureConfig = &goplugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	}
	cfg.SkipHostEnv = true
	cfg.Logger = named(h.logger, name)
	cfg.Stderr = st
	cfg.StartTimeout = h.startTimeout
	return goplugin.NewClient(cfg), st, nil
}

// lastWords is what a process that failed to start printed on stderr. Its
// stderr is read by go-plugin in the background: once the process has
// exited, give that reader a moment to deliver the last line.
func lastWords(client *goplugin.Client, st *tail) string {
	for i := 0; i < 100 && !client.Exited(); i++ {
		time.Sleep(5 * time.Millisecond)
	}
	for i := 0; i < 40 && st.firstPanicOrLast() == ""; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	return st.firstPanicOrLast()
}

// StartError reports a plugin that could not be started or dispensed. Its
// message is one line; the cause is kept for errors.Is.
type StartError struct {
	Name, Path string
	Stderr     string // the line the plugin printed about it, if any
	Err        error
}

func (e *StartError) Error() string {
	msg := firstLine(e.Err.Error())
	if e.Stderr != "" && !strings.Contains(msg, e.Stderr) {
		msg += " (stderr: " + e.Stderr + ")"
	}
	return fmt.Sprintf("starting plugin %s (%s): %s", e.Name, e.Path, msg)
}

func (e *StartError) Unwrap() error { return e.Err }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// BaseEnv is the environment plugin processes get: what a backend needs to
// reach its service (proxies, CA bundles, the AWS chain's variables and our
// own MMBUILD_* settings), never the whole environment, which may hold the
// CI's secrets.
func BaseEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if keepForPlugin(k) {
			out = append(out, kv)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func keepForPlugin(k string) bool {
	switch k {
	case "PATH", "HOME", "TMPDIR", "USER", "LANG", "LC_ALL", "TZ",
		"SSL_CERT_FILE", "SSL_CERT_DIR",
		"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy":
		return true
	}
	for _, p := range []string{"XDG_", "AWS_", "MMBUILD_"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// tail keeps the last lines a plugin wrote on stderr (raw, non-JSON lines
// such as a Go panic), to explain a crash in one line.
type tail struct {
	mu    sync.Mutex
	lines []string
	part  strings.Builder
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range string(b) {
		if c == '\n' {
			t.lines = append(t.lines, t.part.String())
			t.part.Reset()
			if len(t.lines) > 64 {
				t.lines = t.lines[len(t.lines)-64:]
			}
			continue
		}
		if t.part.Len() < 4096 {
			t.part.WriteRune(c)
		}
	}
	return len(b), nil
}

func (t *tail) firstPanicOrLast() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.lines {
		if strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "fatal error:") {
			return strings.TrimSpace(l)
		}
	}
	for i := len(t.lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(t.lines[i])
		if l != "" && !strings.HasPrefix(l, "{") {
			return l
		}
	}
	return ""
}
