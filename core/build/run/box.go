package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
)

// boxRequest is the box the run asks for: the config's isolation:, with
// what over sets (--isolation, --network) over it.
func boxRequest(cfg *config.Config, over isolation.Request) (isolation.Request, error) {
	var req isolation.Request
	if c := cfg.Isolation; c != nil {
		req.Mode, req.Network, req.ReadOnly = isolation.Mode(c.Mode), isolation.Network(c.Network), c.ReadOnly
	}
	if over.Mode != "" {
		req.Mode = over.Mode
	}
	if over.Network != "" {
		req.Network = over.Network
	}
	req = req.Normalized()
	if _, err := isolation.ParseMode(string(req.Mode)); err != nil {
		return req, err
	}
	if _, err := isolation.ParseNetwork(string(req.Network)); err != nil {
		return req, err
	}
	return req, nil
}

// boxSpec is the box of the run's handler: the work tree it builds in
// (for a git source, the folder the clone will fill), the materials, the
// user's home and temp folder made private, $PATH's folders, and the files
// it must never see: the signing key files and the secrets' files. All of
// it is as p settled it.
func boxSpec(cfg *config.Config, p *plan, ws *workspace.Workspace) (isolation.Spec, error) {
	spec := isolation.Spec{Request: p.box, Materials: ws.Materials, Scratch: filepath.Join(ws.Root, "box")}
	if cfg.Source != nil {
		spec.WorkTree = filepath.Join(ws.Root, "source")
		if err := os.Mkdir(spec.WorkTree, 0o755); err != nil {
			return spec, fmt.Errorf("creating the source folder: %w", err)
		}
	} else {
		dir := p.workDir
		if dir == "" {
			dir = filepath.Dir(cfg.Path)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return spec, err
		}
		spec.WorkTree = abs
	}
	env := func(k string) string { v, _ := p.running.lookup(k); return v }
	spec.Home = env("HOME")
	if tmp := env("TMPDIR"); tmp != "" && filepath.Clean(tmp) != "/tmp" {
		spec.TempDir = tmp
	}
	spec.Path = filepath.SplitList(env("PATH"))
	spec.Hide = append(spec.Hide, p.hidden...)
	if s := cfg.Signing; s != nil && signingKeyPath(cfg) != "" {
		spec.Hide = append(spec.Hide, signingKeyPath(cfg))
	}
	if p.signing.tokenFile != "" {
		spec.Hide = append(spec.Hide, p.signing.tokenFile)
	}
	for _, s := range cfg.Secrets {
		if p, ok := secretFile(s.From); ok {
			spec.Hide = append(spec.Hide, p)
		}
	}
	return spec, nil
}

// expectHandler is the handler as the staging key covers it (its binary,
// checked as its start checks it, and the box it builds in) when the run
// may be a cache hit, whose lookup then needs no handler started: a hit
// never starts it, a miss starts it after the lookup. The box is the one
// startHandler makes where the kernel allows it; where it makes a weaker
// one the run looks the cache up again (materialsAndCache).
//
// It is nil, and the handler starts with the other plugins, where the run
// builds without looking the cache up first (--force, no destination, a
// material whose digest is known only once fetched), where the box is not
// known before the handler starts (mode required, which refuses a weaker
// box; no bubblewrap here), and where the binary does not check (its start
// says why). A work tree that is not a clean git checkout is known only
// once read, while the plugins start: the run begins the handler's start
// then (run).
func expectHandler(cfg *config.Config, p *plan, host *pluginhost.Host, spec isolation.Spec) *handlerIdentity {
	if p.force || cfg.Artifacts.Destination == "" || !digestsKnown(cfg.Materials) {
		return nil
	}
	bin, err := host.Verify(p.handlerPlugin)
	if err != nil {
		return nil
	}
	var box *isolation.Applied
	switch {
	case spec.Mode == isolation.ModeOff:
		box = isolation.Off(isolation.ModeOff, "")
	case spec.Mode != isolation.ModeAuto:
		return nil
	case bin.Attached:
		box = isolation.Off(isolation.ModeAuto, pluginhost.ErrAttached.Error())
	default:
		if _, err := isolation.NewLauncher(); err != nil {
			return nil
		}
		s := spec
		s.Request = s.Request.Normalized()
		box = s.Applied()
	}
	return &handlerIdentity{sha256: bin.SHA256, box: box}
}

// startHandler starts the handler plugin in the box spec describes, and
// returns what was applied. Where bubblewrap cannot make the box, auto
// falls back to a landlock box (weaker: it says what it lacks), and where
// neither can be made starts the handler unboxed; each with one warning
// line, and the record says what was applied. required fails before
// anything is built; off starts it unboxed and records off.
func startHandler(ctx context.Context, t tools, host *pluginhost.Host, name string, spec isolation.Spec) (*pluginhost.Plugin, *isolation.Applied, error) {
	if spec.Mode == isolation.ModeOff {
		p, err := host.Start(ctx, name)
		return p, isolation.Off(isolation.ModeOff, ""), err
	}
	p, applied, err := startBoxed(ctx, host, name, spec, isolation.NewLauncher)
	if applied != nil || err == nil {
		return p, applied, err
	}
	if !canFallBack(err) {
		return nil, nil, err
	}
	if spec.Mode == isolation.ModeRequired {
		return nil, nil, fmt.Errorf("isolation: mode required, but %w", err)
	}
	why := err.Error()
	if errors.Is(err, pluginhost.ErrAttached) {
		t.log.Warn("isolation: the build runs without a box: " + why)
		p, err := host.Start(ctx, name)
		return p, isolation.Off(isolation.ModeAuto, why), err
	}
	p, applied, lerr := startBoxed(ctx, host, name, spec, isolation.NewLandlockLauncher)
	if applied != nil {
		applied.Missing = why + "; " + applied.Missing
		t.log.Warn("isolation: the build runs in a landlock box, weaker than the full one: " + applied.Missing)
		return p, applied, nil
	}
	if lerr != nil && !canFallBack(lerr) {
		return nil, nil, lerr
	}
	why += "; and no landlock box: " + lerr.Error()
	t.log.Warn("isolation: the build runs without a box: " + why)
	p, err = host.Start(ctx, name)
	return p, isolation.Off(isolation.ModeAuto, why), err
}

// startBoxed starts the handler in a box of the launcher newLauncher
// makes. It returns what was applied once started; a launcher that cannot
// make a box here, or a box the kernel refused, is an error canFallBack
// accepts.
func startBoxed(ctx context.Context, host *pluginhost.Host, name string, spec isolation.Spec, newLauncher func() (*isolation.Launcher, error)) (*pluginhost.Plugin, *isolation.Applied, error) {
	l, err := newLauncher()
	if err != nil {
		return nil, nil, err
	}
	b := &boxer{l: l, spec: spec}
	p, err := host.StartBoxed(ctx, name, b)
	var se *pluginhost.StartError
	if errors.As(err, &se) {
		if msg, refused := isolation.Refused(se.Stderr); refused {
			err = &isolation.RefusedError{Msg: msg}
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return p, b.applied, nil
}

// canFallBack reports whether err says a box could not be made here (and
// not that the plugin failed).
func canFallBack(err error) bool {
	var refused *isolation.RefusedError
	var unavailable *isolation.UnavailableError
	return errors.As(err, &refused) || errors.As(err, &unavailable) || errors.Is(err, pluginhost.ErrAttached)
}

// boxer makes the handler's box with an isolation.Launcher, and keeps
// what the box applies.
type boxer struct {
	l       *isolation.Launcher
	spec    isolation.Spec
	applied *isolation.Applied
}

func (b *boxer) Command(exe *os.File, path string, env []string, sockets string) (*exec.Cmd, pluginhost.Box, error) {
	spec := b.spec
	spec.Sockets = sockets
	cmd, box, err := b.l.Command(spec, exe, path, env)
	if err != nil {
		return nil, nil, err
	}
	b.applied = box.Applied
	return cmd, box, nil
}
