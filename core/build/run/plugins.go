package run

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
)

// plugins are the started plugins of a run.
type plugins struct {
	handlerID string
	handler   *pluginhost.Plugin
	// cataloger serves sbom.generator (catalogerID); nil without one.
	catalogerID string
	cataloger   *pluginhost.Plugin
	storages    map[string]*pluginhost.Plugin // by URL scheme
	all         []*pluginhost.Plugin          // sorted by name, for the provenance
	// isolation is the box the handler runs in, as applied.
	isolation *isolation.Applied
	// late is the handler when its start waits for the cache lookup:
	// handler is nil until startLate.
	late *lateHandler
}

// resolve is the remote.Resolver over the started storage plugins.
func (ps *plugins) resolve(scheme string) (remote.Backend, error) {
	p, ok := ps.storages[scheme]
	if !ok {
		return remote.Backend{}, fmt.Errorf("no storage plugin started for %s://", scheme)
	}
	return remote.Backend{Name: p.Name, Storage: p.Conn.Storage(), Explain: p.Explain, Capabilities: p.Info.Capabilities}, nil
}

// pendingPlugins are plugins being started.
type pendingPlugins struct {
	host *pluginhost.Host
	ch   chan startedPlugins
	// late is the handler whose start waits for the cache lookup; nil
	// when it is started with the others.
	late *lateHandler
}

type startedPlugins struct {
	m       map[string]*pluginhost.Plugin
	handler *pluginhost.Plugin
	applied *isolation.Applied
	err     error
}

// lateHandler is a handler not started with the other plugins: a cache
// hit does not need it (expectHandler). It starts once the lookup missed,
// or as soon as the run knows it builds (begin).
type lateHandler struct {
	expected handlerIdentity
	start    func(ctx context.Context) (*pluginhost.Plugin, *isolation.Applied, error)

	once    sync.Once
	done    chan struct{}
	p       *pluginhost.Plugin
	applied *isolation.Applied
	err     error
}

// begin starts the handler in the background, once.
func (l *lateHandler) begin(ctx context.Context) {
	l.once.Do(func() {
		go func() {
			l.p, l.applied, l.err = l.start(ctx)
			close(l.done)
		}()
	})
}

// wait returns the started handler, beginning its start if nothing did.
func (l *lateHandler) wait(ctx context.Context) (*pluginhost.Plugin, *isolation.Applied, error) {
	l.begin(ctx)
	<-l.done
	return l.p, l.applied, l.err
}

// startPlugins starts every plugin of p concurrently, the handler in the
// box spec describes (unless late: then only once the cache lookup has
// missed); wait collects them.
func startPlugins(ctx context.Context, t tools, host *pluginhost.Host, p *plan, spec isolation.Spec, late *handlerIdentity) *pendingPlugins {
	pp := &pendingPlugins{host: host, ch: make(chan startedPlugins, 1)}
	startHandler := func(ctx context.Context) (*pluginhost.Plugin, *isolation.Applied, error) {
		return startHandler(ctx, t, host, p.handlerPlugin, spec)
	}
	if late != nil {
		pp.late = &lateHandler{expected: *late, start: startHandler, done: make(chan struct{})}
	}
	go func() {
		type handlerStart struct {
			p       *pluginhost.Plugin
			applied *isolation.Applied
			err     error
		}
		hc := make(chan handlerStart, 1)
		if late != nil {
			hc <- handlerStart{}
		} else {
			go func() {
				h, applied, err := startHandler(ctx)
				hc <- handlerStart{h, applied, err}
			}()
		}
		m, err := host.StartAll(ctx, p.otherPlugins())
		h := <-hc
		if err == nil {
			err = h.err
		}
		pp.ch <- startedPlugins{m: m, handler: h.p, applied: h.applied, err: err}
	}()
	return pp
}

// wait returns the started plugins once each is checked to serve what it
// was started for. A late handler is checked once it starts
// (plugins.startLate).
func (pp *pendingPlugins) wait(cfg *config.Config, p *plan) (*plugins, error) {
	st := <-pp.ch
	if st.err != nil {
		return nil, whyPlugin(cfg, p, st.err)
	}
	ps := &plugins{handlerID: cfg.Handler.ID, storages: map[string]*pluginhost.Plugin{}, late: pp.late}
	for _, sp := range st.m {
		ps.all = append(ps.all, sp)
	}
	sort.Slice(ps.all, func(i, j int) bool { return ps.all[i].Name < ps.all[j].Name })
	if pp.late == nil {
		if err := ps.addHandler(cfg, p.handlerPlugin, st.handler, st.applied); err != nil {
			return nil, err
		}
	}
	if p.catalogerPlugin != "" {
		ps.catalogerID, ps.cataloger = p.catalogerID, st.m[p.catalogerPlugin]
		if err := ps.cataloger.Serves("sbom:" + ps.catalogerID); err != nil {
			return nil, fmt.Errorf("%s: sbom.generator %q: %w", cfg.SBOM.Pos, ps.catalogerID, err)
		}
	}
	for scheme, name := range p.storages {
		sp := st.m[name]
		if err := sp.Serves("storage:" + scheme); err != nil {
			return nil, fmt.Errorf("%s:// URLs: %w", scheme, err)
		}
		ps.storages[scheme] = sp
	}
	// Every option is checked against its plugin's schema before anything
	// runs; a late handler's once it starts, before the build.
	handlerKind := "handler:" + cfg.Handler.ID
	if err := checkOptions(cfg, ps.infoOf, func(kind string) bool { return pp.late == nil || kind != handlerKind }); err != nil {
		return nil, err
	}
	return ps, nil
}

// addHandler checks that the started handler h serves the config's
// handler id and adds it, with the box it runs in (applied). Its plugin is
// recorded once, also when it serves a storage scheme too.
func (ps *plugins) addHandler(cfg *config.Config, name string, h *pluginhost.Plugin, applied *isolation.Applied) error {
	if err := h.Serves("handler:" + cfg.Handler.ID); err != nil {
		return fmt.Errorf("%s: handler.id %q: %w", cfg.Handler.Pos, cfg.Handler.ID, err)
	}
	ps.handler, ps.isolation = h, applied
	if !slices.ContainsFunc(ps.all, func(p *pluginhost.Plugin) bool { return p.Name == name }) {
		ps.all = append(ps.all, h)
	}
	sort.Slice(ps.all, func(i, j int) bool { return ps.all[i].Name < ps.all[j].Name })
	return nil
}

// startLate starts a handler whose start waited for the cache lookup, and
// checks it and its options as wait checks the others. It does nothing
// when the handler is started.
func (ps *plugins) startLate(ctx context.Context, cfg *config.Config, p *plan) error {
	if ps.handler != nil {
		return nil
	}
	h, applied, err := ps.late.wait(ctx)
	if err != nil {
		return whyPlugin(cfg, p, err)
	}
	if err := ps.addHandler(cfg, p.handlerPlugin, h, applied); err != nil {
		return err
	}
	handlerKind := "handler:" + cfg.Handler.ID
	return checkOptions(cfg, ps.infoOf, func(kind string) bool { return kind == handlerKind })
}

// handlerIdentity is what the staging key covers of the handler: its
// binary and the box it builds in.
type handlerIdentity struct {
	sha256 string
	box    *isolation.Applied
}

// handlerIdentity is the started handler's, else the one a late handler
// is expected to have.
func (ps *plugins) handlerIdentity() handlerIdentity {
	if ps.handler != nil {
		return handlerIdentity{sha256: ps.handler.SHA256, box: ps.isolation}
	}
	return ps.late.expected
}

// whyPlugin says what a plugin that could not be found was needed for.
func whyPlugin(cfg *config.Config, p *plan, err error) error {
	var nf *discovery.NotFoundError
	if !errors.As(err, &nf) {
		return err
	}
	if nf.Name == p.handlerPlugin {
		return fmt.Errorf("%s: handler.id %q needs the plugin mmbuild-plugin-%s: %w", cfg.Handler.Pos, cfg.Handler.ID, nf.Name, err)
	}
	if nf.Name == p.catalogerPlugin {
		return fmt.Errorf("%s: sbom.generator %q needs the plugin mmbuild-plugin-%s: %w", cfg.SBOM.Pos, p.catalogerID, nf.Name, err)
	}
	schemes := make([]string, 0, len(p.storages))
	for scheme, name := range p.storages {
		if name == nf.Name {
			schemes = append(schemes, scheme+"://")
		}
	}
	if len(schemes) > 0 {
		sort.Strings(schemes)
		return fmt.Errorf("%s URLs need the storage plugin mmbuild-plugin-%s: %w", strings.Join(schemes, ", "), nf.Name, err)
	}
	return err
}
