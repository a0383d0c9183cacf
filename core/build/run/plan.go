package run

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
)

// StoragePlugin returns the name of the plugin serving a URL scheme: the
// scheme itself, the part before "+" for compound schemes (git+https → git),
// and http for https.
func StoragePlugin(scheme string) string {
	scheme = strings.ToLower(scheme)
	if i := strings.IndexByte(scheme, '+'); i > 0 {
		return scheme[:i]
	}
	if scheme == "https" {
		return "http"
	}
	return scheme
}

// plan is what a run needs before it starts anything.
type plan struct {
	handlerPlugin string
	// storages maps each scheme the run uses to its plugin name.
	storages map[string]string
}

// pluginNames lists every plugin the run starts, handler first, then the
// storage plugins in the order of their schemes.
func (p *plan) pluginNames() []string {
	names := []string{p.handlerPlugin}
	seen := map[string]bool{p.handlerPlugin: true}
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
func makePlan(cfg *config.Config) (*plan, error) {
	p := &plan{handlerPlugin: cfg.Handler.ID, storages: map[string]string{}}
	for _, u := range planURLs(cfg) {
		scheme, err := remote.Scheme(u.url, u.where)
		if err != nil {
			return nil, err
		}
		if u.secret && (scheme == "env" || scheme == "file") {
			continue // read by the core itself
		}
		p.storages[scheme] = StoragePlugin(scheme)
	}
	if err := remote.CheckCredentials(cfg.Credentials); err != nil {
		return nil, err
	}
	if len(cfg.Artifacts.Files) == 0 {
		return nil, fmt.Errorf("%s: artifacts.files is empty: a build must produce at least one artifact to attest", cfg.Artifacts.Pos)
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
		if m.Attestation != "" {
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
	for i, t := range cfg.Transfers {
		out = append(out, planURL{url: t.Destination, where: fmt.Sprintf("%s: transfers[%d].destination", t.Pos, i)})
	}
	return out
}
