package project

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

var _ pluginhost.ImageResolver = (*Plugins)(nil)

// Images names the plugin that serves container images and the URL scheme
// it serves them through (implements pluginhost.ImageResolver): the one
// plugin that may run (see Storage) whose describe answer announces
// storage.CapabilityImages, with exactly one storage kind. Answers are
// read from the describe cache; none or more than one such plugin is an
// error naming what was found.
func (p *Plugins) Images() (name, scheme string, err error) {
	cands, _ := discovery.Scan(p.SearchPath)
	platform := lockfile.Platform()
	var found []string
	for _, c := range cands {
		if c.ShadowedBy != "" || !discovery.Runnable(c.Path) {
			continue
		}
		e, _ := p.lock().Pin(c.Name)
		pinned, ok := e.Sum(platform)
		if !ok && !p.o.allowUnpinned {
			continue
		}
		info, err := p.describeRunnable(context.Background(), c, pinned)
		if err != nil || !slices.Contains(info.Capabilities, storage.CapabilityImages) {
			continue
		}
		var schemes []string
		for _, k := range info.Kinds {
			if id, ok := strings.CutPrefix(k, plugin.KindStorage+":"); ok {
				schemes = append(schemes, id)
			}
		}
		slices.Sort(schemes)
		if len(schemes) != 1 {
			return "", "", fmt.Errorf("plugin %q announces %s but serves %d URL schemes (%s): which one serves images is ambiguous", c.Name, storage.CapabilityImages, len(schemes), strings.Join(schemes, ", "))
		}
		found = append(found, strconv.Quote(c.Name))
		name, scheme = c.Name, schemes[0]
	}
	switch len(found) {
	case 0:
		return "", "", fmt.Errorf("no pinned plugin announces %s (serves container images): install and pin one (`mmbuild plugins lock`), or write the image's URL with its plugin's scheme", storage.CapabilityImages)
	case 1:
		return name, scheme, nil
	}
	return "", "", fmt.Errorf("plugins %s all announce %s: write the image's URL with the scheme of the plugin to use", strings.Join(found, ", "), storage.CapabilityImages)
}
