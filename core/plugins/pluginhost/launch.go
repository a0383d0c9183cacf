package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/mmbuild/mmbuild/core/plugins/binary"
	"github.com/mmbuild/mmbuild/sdk/host"
)

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
	conn, err := host.Dispense(rpc)
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
	cfg := host.ClientConfig(cmd)
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

// Binary is what starting a plugin would run, checked as a start checks
// it.
type Binary struct {
	Path   string
	SHA256 string // "sha256:<hex>"
	Pinned bool
	// Attached is a plugin served in-process (NewAttached): there is no
	// process to start, nor to box.
	Attached bool
}

// Verify finds the binary of the plugin called name and checks it as
// Start does (nobody but the user or root can change it; its sha256 is the
// pinned one), without starting it: what a run records of a plugin before
// it knows it needs it started. Start checks the binary again.
func (h *Host) Verify(name string) (Binary, error) {
	if _, ok := h.attached[name]; ok {
		return Binary{Path: "attached:" + name, SHA256: attachedSum(name), Pinned: true, Attached: true}, nil
	}
	path, bin, sum, pinned, err := h.findVerified(name)
	if err != nil {
		return Binary{}, err
	}
	bin.Close()
	return Binary{Path: path, SHA256: sum, Pinned: pinned}, nil
}
