package run

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
)

// resolver names the plugin serving a handler id or a URL scheme: the
// plugin host, which knows it from the lock file.
type resolver interface {
	HandlerPlugin(id string) (string, error)
	StoragePlugin(scheme string) (string, error)
	CatalogerPlugin(id string) (string, error)
}

// plan is what a run needs before it starts anything.
type plan struct {
	handlerPlugin string
	// catalogerPlugin serves sbom.generator; "" without one.
	catalogerPlugin string
	// storages maps each scheme the run uses to its plugin name.
	storages map[string]string
}

// pluginNames lists every plugin the run starts, handler first, then the
// storage plugins in the order of their schemes.
func (p *plan) pluginNames() []string {
	names := []string{p.handlerPlugin}
	seen := map[string]bool{p.handlerPlugin: true}
	if c := p.catalogerPlugin; c != "" && !seen[c] {
		seen[c] = true
		names = append(names, c)
	}
	schemes := make([]string, 0, len(p.storages))
	for s := range p.storages {
		schemes = append(schemes, s)
	}
	sort.Strings(schemes)
	for _, s := range schemes {
		if n := p.storages[s]; !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}

// makePlan resolves the handler and every storage scheme of cfg to a
// plugin, and refuses what no run of cfg could do (a URL without a scheme
// or with a password, credentials no plugin takes, nothing to attest).
// CheckConfig refuses what no run of cfg could do, whatever plugins are
// installed: a URL without a scheme or with credentials, nothing to
// attest. `mmbuild validate` and every run check it.
func CheckConfig(cfg *config.Config) error {
	for _, u := range planURLs(cfg) {
		if _, err := remote.Scheme(u.url, u.where); err != nil {
			return err
		}
	}
	if len(cfg.Artifacts.Files) == 0 && len(cfg.Artifacts.Images) == 0 {
		return fmt.Errorf("%s: artifacts.files is empty: a build must produce at least one artifact to attest (add artifacts: {files: [...]} or artifacts: {images: [...]})", cfg.PositionOf("artifacts.files"))
	}
	return nil
}

func makePlan(cfg *config.Config, r resolver) (*plan, error) {
	if err := CheckConfig(cfg); err != nil {
		return nil, err
	}
	if err := qualifyImages(cfg, r); err != nil {
		return nil, err
	}
	h, err := r.HandlerPlugin(cfg.Handler.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: handler.id %q: %w", cfg.Handler.Pos, cfg.Handler.ID, err)
	}
	p := &plan{handlerPlugin: h, storages: map[string]string{}}
	if cfg.SBOM != nil && cfg.SBOM.Generator != "" {
		if p.catalogerPlugin, err = r.CatalogerPlugin(cfg.SBOM.Generator); err != nil {
			return nil, fmt.Errorf("%s: sbom.generator %q: %w", cfg.SBOM.Pos, cfg.SBOM.Generator, err)
		}
	}
	for _, u := range planURLs(cfg) {
		scheme, err := remote.Scheme(u.url, u.where)
		if err != nil {
			return nil, err
		}
		if u.secret && (scheme == "env" || scheme == "file") {
			continue // read by the core itself
		}
		if _, done := p.storages[scheme]; done {
			continue
		}
		name, err := r.StoragePlugin(scheme)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u.where, err)
		}
		p.storages[scheme] = name
	}
	return p, nil
}

type planURL struct {
	url, where string
	secret     bool
}

// planURLs lists every URL of cfg with where it is used.
func planURLs(cfg *config.Config) []planURL {
	var out []planURL
	for i, m := range cfg.Materials {
		out = append(out, planURL{url: m.URI, where: fmt.Sprintf("%s: materials[%d].uri", m.Pos, i)})
		if m.Attestation != "" && m.Attestation != config.AttestationAttached {
			out = append(out, planURL{url: m.Attestation, where: fmt.Sprintf("%s: materials[%d].attestation", m.Pos, i)})
		}
	}
	for i, s := range cfg.Secrets {
		if s.From != "" {
			out = append(out, planURL{url: s.From, where: fmt.Sprintf("%s: secrets[%d].from", s.Pos, i), secret: true})
		}
	}
	if cfg.Artifacts.Destination != "" {
		out = append(out, planURL{url: cfg.Artifacts.Destination, where: fmt.Sprintf("%s: artifacts.destination", cfg.Artifacts.Pos)})
	}
	for i, im := range cfg.Artifacts.Images {
		if !strings.Contains(im, "://") {
			continue // a reference without a scheme: see qualifyImages
		}
		out = append(out, planURL{url: im, where: fmt.Sprintf("%s: artifacts.images[%d]", cfg.PositionOf(fmt.Sprintf("artifacts.images[%d]", i)), i)})
	}
	for i, t := range cfg.Transfers {
		out = append(out, planURL{url: t.Destination, where: fmt.Sprintf("%s: transfers[%d].destination", t.Pos, i)})
	}
	for i, c := range cfg.Credentials {
		out = append(out, planURL{url: c.URL, where: fmt.Sprintf("%s: credentials[%d].url", c.Pos, i)})
	}
	return out
}
