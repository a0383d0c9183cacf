package plugin

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// bundle is what one binary serves: one plugin (Serve) or several
// (ServeBundle). Their kinds never overlap, so the merged handlers, storages
// and catalogers route every call; only Info is asked per plugin.
type bundle struct {
	members    []*options // in the order given; the first answers an Info without a name
	handlers   map[string]handler.Handler
	storages   map[string]storage.Storage
	catalogers map[string]sbom.Cataloger
}

// newBundle checks the members (distinct names, no kind served twice) and
// merges their components.
func newBundle(members ...[]Option) (*bundle, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("a bundle of no plugins")
	}
	b := &bundle{handlers: map[string]handler.Handler{}, storages: map[string]storage.Storage{}, catalogers: map[string]sbom.Cataloger{}}
	owner := map[string]string{} // kind → plugin
	for _, opts := range members {
		o, err := newOptions(opts)
		if err != nil {
			return nil, err
		}
		if b.member(o.name) != nil {
			return nil, fmt.Errorf("plugin %q is in the bundle twice", o.name)
		}
		for _, kind := range o.info().Kinds {
			if other, dup := owner[kind]; dup {
				return nil, fmt.Errorf("plugins %q and %q of the bundle both serve %s", other, o.name, kind)
			}
			owner[kind] = o.name
		}
		for id, h := range o.handlers {
			b.handlers[id] = h
		}
		for scheme, s := range o.storages {
			b.storages[scheme] = s
		}
		for id, c := range o.catalogers {
			b.catalogers[id] = c
		}
		b.members = append(b.members, o)
	}
	return b, nil
}

// member returns the plugin called name, or nil.
func (b *bundle) member(name string) *options {
	for _, o := range b.members {
		if o.name == name {
			return o
		}
	}
	return nil
}

// names lists the bundle's plugins.
func (b *bundle) names() []string {
	names := make([]string, len(b.members))
	for i, o := range b.members {
		names[i] = o.name
	}
	return names
}

// runAs is the plugin a binary run by hand (describe, --version) is: the
// one its file is named for (mmbuild-plugin-<name>, each plugin of a bundle
// installed under its own name); a single plugin whatever its file name.
func (b *bundle) runAs(argv0 string) (*options, error) {
	if len(b.members) == 1 {
		return b.members[0], nil
	}
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	if o := b.member(strings.TrimPrefix(base, BinaryPrefix)); o != nil && strings.HasPrefix(base, BinaryPrefix) {
		return o, nil
	}
	return nil, fmt.Errorf("this binary bundles the plugins %s: install it as %s<name> for each, and run it by that name", strings.Join(b.names(), ", "), BinaryPrefix)
}
