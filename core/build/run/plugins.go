package run

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

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
}

type startedPlugins struct {
	m       map[string]*pluginhost.Plugin
	handler *pluginhost.Plugin
	applied *isolation.Applied
	err     error
}

// startPlugins starts every plugin of p concurrently, the handler in the
// box spec describes; wait collects them.
func startPlugins(ctx context.Context, t tools, host *pluginhost.Host, p *plan, spec isolation.Spec) *pendingPlugins {
	pp := &pendingPlugins{host: host, ch: make(chan startedPlugins, 1)}
	go func() {
		type handlerStart struct {
			p       *pluginhost.Plugin
			applied *isolation.Applied
			err     error
		}
		hc := make(chan handlerStart, 1)
		go func() {
			h, applied, err := startHandler(ctx, t, host, p.handlerPlugin, spec)
			hc <- handlerStart{h, applied, err}
		}()
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
// was started for.
func (pp *pendingPlugins) wait(cfg *config.Config, p *plan) (*plugins, error) {
	st := <-pp.ch
	if st.err != nil {
		return nil, whyPlugin(cfg, p, st.err)
	}
	ps := &plugins{handlerID: cfg.Handler.ID, handler: st.handler, isolation: st.applied, storages: map[string]*pluginhost.Plugin{}}
	if err := ps.handler.Serves("handler:" + cfg.Handler.ID); err != nil {
		return nil, fmt.Errorf("%s: handler.id %q: %w", cfg.Handler.Pos, cfg.Handler.ID, err)
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
	if _, also := st.m[p.handlerPlugin]; !also {
		ps.all = append(ps.all, st.handler)
	}
	for _, sp := range st.m {
		ps.all = append(ps.all, sp)
	}
	sort.Slice(ps.all, func(i, j int) bool { return ps.all[i].Name < ps.all[j].Name })
	// Every option is checked against its plugin's schema before anything
	// runs.
	if err := CheckOptions(cfg, ps.infoOf); err != nil {
		return nil, err
	}
	return ps, nil
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
