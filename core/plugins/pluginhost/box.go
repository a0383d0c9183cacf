package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	goplugin "github.com/hashicorp/go-plugin"
)

// A Boxer makes the command that starts a plugin process in an isolated
// environment (core/build/isolation): the core boxes the handler plugin,
// so a third party's handler is boxed without trusting or changing it.
type Boxer interface {
	// Command returns the command that runs the open, verified binary exe
	// in a box as path (its argv[0]), with env as its whole environment
	// and the folder sockets (where the plugin makes its gRPC socket)
	// reachable in it.
	Command(exe *os.File, path string, env []string, sockets string) (*exec.Cmd, Box, error)
}

// Box is a started box.
type Box interface {
	// Started is called once the process hand-shook.
	Started() error
	// End kills every process in the box and returns once they are gone.
	End(ctx context.Context) error
	// Close releases what the box holds.
	Close()
}

// ErrAttached is StartBoxed's answer for a plugin served in-process
// (WithAttached): there is no process to box.
var ErrAttached = errors.New("the plugin is served in-process: there is no process to box")

// StartBoxed starts the plugin called name in a process of its own (never
// shared with a bundle's other plugins, which keep the core's reach), in
// the box b makes. End it with EndBox.
func (h *Host) StartBoxed(ctx context.Context, name string, b Boxer) (*Plugin, error) {
	if _, ok := h.attached[name]; ok {
		return nil, ErrAttached
	}
	h.mu.Lock()
	if h.ctx == nil {
		h.ctx = ctx
	}
	h.mu.Unlock()
	path, bin, sum, pinned, err := h.findVerified(name)
	if err != nil {
		return nil, err
	}
	pr := &process{done: make(chan struct{})}
	h.mu.Lock()
	h.procs[sum+" boxed"] = pr
	h.mu.Unlock()
	pr.first, pr.err = h.launchVerified(ctx, name, path, bin, sum, pinned, b)
	close(pr.done)
	if pr.err == nil {
		h.mu.Lock()
		r := &startResult{done: make(chan struct{}), p: pr.first}
		close(r.done)
		h.started[name+" boxed"] = r
		h.mu.Unlock()
	}
	return pr.first, pr.err
}

// EndBox ends a boxed plugin's box: every process in it, the plugin and
// whatever the build left behind (setsid daemons, double forks), is gone
// when it returns. A plugin that was not boxed is left running.
func (p *Plugin) EndBox(ctx context.Context) error {
	if p.box == nil {
		return nil
	}
	err := p.box.End(ctx)
	p.box.Close()
	p.box = nil
	stop(p.client)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", p.Name, err)
	}
	return nil
}

// boxEnv is a boxed plugin's environment: what a program needs to run and
// speak the user's locale, and the settings meant for plugins
// (MMBUILD_PLUGIN_*, documented as never holding a secret), never the
// core's other settings or credentials (AWS_*, MMBUILD_*, proxies'
// passwords): the build can read its handler's environment. The build's
// own environment reaches the builder through the Build call, as declared.
func boxEnv(env []string) []string {
	out := []string{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "PATH", k == "HOME", k == "TMPDIR", k == "USER", k == "LOGNAME", k == "LANG", k == "LC_ALL", k == "TZ", k == "GOGC",
			strings.HasPrefix(k, "MMBUILD_PLUGIN_"):
			out = append(out, kv)
		}
	}
	return out
}

// boxedCommand is launch's command for a boxed plugin: its sockets in a
// folder of its own, the only one of the core's it reaches.
func (h *Host) boxedCommand(b Boxer, bin *os.File, path string) (*exec.Cmd, Box, error) {
	sockets, err := h.socketDir()
	if err != nil {
		return nil, nil, err
	}
	own, err := os.MkdirTemp(sockets, "box-")
	if err != nil {
		return nil, nil, err
	}
	if path, err = filepath.Abs(path); err != nil {
		return nil, nil, err
	}
	return b.Command(bin, path, append(boxEnv(h.env), goplugin.EnvUnixSocketDir+"="+own), own)
}

// envHas reports whether env sets k.
func envHas(env []string, k string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, k+"=") {
			return true
		}
	}
	return false
}
