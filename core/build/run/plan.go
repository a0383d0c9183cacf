package run

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
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

// schemeOf returns the scheme of a URL, or an error naming where it is used.
func schemeOf(raw, where string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s: invalid URL %s: %w", where, redactURL(raw), err)
	}
	if u.Scheme == "" {
		return "", fmt.Errorf("%s: %q is not a URL (no scheme such as file:// or s3://)", where, redactURL(raw))
	}
	if u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			return "", fmt.Errorf("%s: credentials in URL %s are refused: use a secret", where, redactURL(raw))
		}
	}
	return strings.ToLower(u.Scheme), nil
}

// redactURL drops the password and query of a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	return u.String()
}

// plan is what a run needs before it starts anything.
type plan struct {
	handlerPlugin string
	// storages maps each scheme the run uses to its plugin name.
	storages map[string]string
}

// pluginNames lists every plugin the run starts, handler first.
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

// makePlan resolves the handler and every storage scheme of cfg to a plugin.
// cached reports whether the cache lookup will be made (so the destination's
// scheme is needed even without artifacts to upload).
func makePlan(cfg *config.Config) (*plan, error) {
	p := &plan{handlerPlugin: cfg.Handler.ID, storages: map[string]string{}}
	add := func(raw, where string) error {
		scheme, err := schemeOf(raw, where)
		if err != nil {
			return err
		}
		p.storages[scheme] = StoragePlugin(scheme)
		return nil
	}
	for i, m := range cfg.Materials {
		if err := add(m.URI, fmt.Sprintf("%s: materials[%d].uri", m.Pos, i)); err != nil {
			return nil, err
		}
	}
	for i, s := range cfg.Secrets {
		if s.From == "" {
			continue
		}
		scheme, err := schemeOf(s.From, fmt.Sprintf("%s: secrets[%d].from", s.Pos, i))
		if err != nil {
			return nil, err
		}
		if scheme != "env" && scheme != "file" {
			p.storages[scheme] = StoragePlugin(scheme)
		}
	}
	if cfg.Artifacts.Destination != "" {
		if err := add(cfg.Artifacts.Destination, fmt.Sprintf("%s: artifacts.destination", cfg.Artifacts.Pos)); err != nil {
			return nil, err
		}
	}
	for i, t := range cfg.Transfers {
		if err := add(t.Destination, fmt.Sprintf("%s: transfers[%d].destination", t.Pos, i)); err != nil {
			return nil, err
		}
	}
	return p, nil
}
