package run

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// plugins are the started plugins of a run.
type plugins struct {
	handlerID string
	// handler is nil until awaitHandler returns: it starts (in its box)
	// while the run prepares and fetches the materials.
	handler *pluginhost.Plugin
	// cataloger serves sbom.generator (catalogerID); nil without one.
	catalogerID string
	cataloger   *pluginhost.Plugin
	storages    map[string]*pluginhost.Plugin // by URL scheme
	all         []*pluginhost.Plugin          // sorted by name, for the provenance
	// isolation is the box the handler runs in, as applied.
	isolation *isolation.Applied
	// pending is the handler's start; settled once awaitHandler took it.
	pending <-chan handlerStart
	settled bool
	err     error
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
	host    *pluginhost.Host
	others  chan othersStart
	handler chan handlerStart
}

// othersStart is the start of every plugin but the handler.
type othersStart struct {
	m   map[string]*pluginhost.Plugin
	err error
}

// handlerStart is the start of the handler plugin, in its box.
type handlerStart struct {
	p       *pluginhost.Plugin
	applied *isolation.Applied
	err     error
}

// startPlugins starts every plugin of p concurrently, the handler in the
// box spec describes; wait collects all but the handler, awaitHandler the
// handler.
func startPlugins(ctx context.Context, t tools, host *pluginhost.Host, cfg *config.Config, p *plan, spec isolation.Spec) *pendingPlugins {
	pp := &pendingPlugins{host: host, others: make(chan othersStart, 1), handler: make(chan handlerStart, 1)}
	go func() {
		h, applied, err := startHandler(ctx, t, host, p.handlerPlugin, spec)
		if err != nil {
			err = whyPlugin(cfg, p, err)
		} else {
			err = checkHandler(cfg, h)
		}
		pp.handler <- handlerStart{h, applied, err}
	}()
	go func() {
		m, err := host.StartAll(ctx, p.otherPlugins())
		pp.others <- othersStart{m, err}
	}()
	return pp
}

// isHandler reports whether kind is the config's handler's.
func isHandler(cfg *config.Config) func(kind string) bool {
	return func(kind string) bool { return kind == "handler:"+cfg.Handler.ID }
}

// checkHandler checks that the started handler plugin h serves the
// config's handler and takes the options the config gives it.
func checkHandler(cfg *config.Config, h *pluginhost.Plugin) error {
	if err := h.Serves("handler:" + cfg.Handler.ID); err != nil {
		return fmt.Errorf("%s: handler.id %q: %w", cfg.Handler.Pos, cfg.Handler.ID, err)
	}
	info := func(string) (*plugin.Info, error) { return h.Info, nil }
	return checkOptions(cfg, info, isHandler(cfg))
}

// wait returns the started plugins but the handler, which may still be
// starting (awaitHandler), once each is checked to serve what it was
// started for and to take the options the config gives it.
func (pp *pendingPlugins) wait(cfg *config.Config, p *plan) (*plugins, error) {
	st := <-pp.others
	if st.err != nil {
		return nil, whyPlugin(cfg, p, st.err)
	}
	ps := &plugins{handlerID: cfg.Handler.ID, storages: map[string]*pluginhost.Plugin{}, pending: pp.handler}
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
	for _, sp := range st.m {
		ps.all = append(ps.all, sp)
	}
	sort.Slice(ps.all, func(i, j int) bool { return ps.all[i].Name < ps.all[j].Name })
	// Every option is checked against its plugin's schema before the
	// plugin is used: the others' here, the handler's once it started.
	handler := isHandler(cfg)
	if err := checkOptions(cfg, ps.infoOf, func(kind string) bool { return !handler(kind) }); err != nil {
		return nil, err
	}
	return ps, nil
}

// awaitHandler waits for the handler plugin's start, begun with the other
// plugins' and left to run on while the run prepares and fetches (a boxed
// start is the slowest of all). It is called before the staging key, which
// covers the handler and its box, and so before the build.
func (ps *plugins) awaitHandler() error {
	if ps.settled {
		return ps.err
	}
	ps.settled = true
	h := <-ps.pending
	if ps.err = h.err; h.err != nil {
		return h.err
	}
	ps.handler, ps.isolation = h.p, h.applied
	if !slices.ContainsFunc(ps.all, func(sp *pluginhost.Plugin) bool { return sp.Name == h.p.Name }) {
		ps.all = append(ps.all, h.p)
		sort.Slice(ps.all, func(i, j int) bool { return ps.all[i].Name < ps.all[j].Name })
	}
	return nil
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
