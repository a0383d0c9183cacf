package replay

import (
	"fmt"
	"strings"

	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
)

// Plugin is a plugin binary the attestation records the build ran with
// (a material "mmbuild-plugin:<name>@<version>" with its sha256).
type Plugin struct {
	Name, Version, SHA256 string // SHA256 is "sha256:<hex>"
}

// pluginPrefix starts the URI of a recorded plugin binary.
const pluginPrefix = "mmbuild-plugin:"

// recordedPlugins returns the plugins st records. The attestation is
// untrusted: a name that is not a plugin name or a sum that is not a
// sha256 is a refusal.
func recordedPlugins(st *provenance.Record) ([]Plugin, error) {
	var out []Plugin
	for _, m := range st.Materials {
		rest, ok := strings.CutPrefix(m.URI, pluginPrefix)
		if !ok {
			continue
		}
		name, version, _ := strings.Cut(rest, "@")
		if !discovery.ValidName(name) {
			return nil, refuse("the recorded plugin %s has no valid plugin name", safe(m.URI))
		}
		sum := "sha256:" + m.Digest["sha256"]
		if _, err := lockfile.ParseSum(sum); err != nil {
			return nil, refuse("the recorded plugin %s has no valid sha256", safe(m.URI))
		}
		out = append(out, Plugin{Name: name, Version: version, SHA256: sum})
	}
	return out, nil
}

// WithPlugins sets how the rebuild finds its plugins: open gets the
// plugins the verified attestation records, before anything runs, and
// returns the host the rebuild starts them with (pinned to those records,
// so a replay needs no lock file). The caller closes the host. Default: the
// host of WithRunOptions.
func WithPlugins(open func(recorded []Plugin) (*pluginhost.Host, error)) Option {
	return func(o *options) { o.openPlugins = open }
}

// pluginHost opens the rebuild's host from st's recorded plugins.
func (o *options) pluginHost(st *provenance.Record) (*pluginhost.Host, error) {
	recorded, err := recordedPlugins(st)
	if err != nil {
		return nil, err
	}
	host, err := o.openPlugins(recorded)
	if err != nil {
		return nil, fmt.Errorf("replay: the recorded plugins: %w", err)
	}
	return host, nil
}
