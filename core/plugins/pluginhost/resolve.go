package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Resolver names the plugin serving a handler id, a URL scheme or an SBOM
// cataloger id.
type Resolver interface {
	Handler(id string) (string, error)
	Storage(scheme string) (string, error)
	Cataloger(id string) (string, error)
}

// WithResolver sets how handler ids and URL schemes map to plugins.
// Default: ByName.
func WithResolver(r Resolver) Option { return func(h *Host) { h.resolver = r } }

// ByName resolves a handler id or a scheme to the plugin of that very name:
// the fallback where no lock records which plugin serves what.
type ByName struct{}

// Handler implements Resolver.
func (ByName) Handler(id string) (string, error) { return id, nil }

// Storage implements Resolver.
func (ByName) Storage(scheme string) (string, error) { return strings.ToLower(scheme), nil }

// Cataloger implements Resolver: sbom-<id>, the first-party convention
// (mmbuild-plugin-sbom-syft serves sbom:syft).
func (ByName) Cataloger(id string) (string, error) { return "sbom-" + id, nil }

// ImageResolver is implemented by a Resolver that knows which plugin
// serves container images: the one announcing storage.CapabilityImages.
// Images returns it and the URL scheme it serves.
type ImageResolver interface {
	Images() (name, scheme string, err error)
}

// ImageScheme returns the URL scheme of the plugin that serves container
// images, for an image reference written without one.
func (h *Host) ImageScheme() (string, error) {
	ir, ok := h.resolver.(ImageResolver)
	if !ok {
		return "", errors.New("no plugin is known to serve images here: name the image with the URL scheme of its registry's plugin")
	}
	_, scheme, err := ir.Images()
	return scheme, err
}

// CatalogerPlugin names the plugin serving SBOM cataloger id.
func (h *Host) CatalogerPlugin(id string) (string, error) { return h.resolver.Cataloger(id) }

// PinnedCatalogers lists the SBOM cataloger ids the resolver knows to be
// pinned (none for a resolver that cannot say, as ByName).
func (h *Host) PinnedCatalogers() []string {
	if r, ok := h.resolver.(interface{ PinnedCatalogers() []string }); ok {
		return r.PinnedCatalogers()
	}
	return nil
}

// HandlerPlugin names the plugin serving handler id.
func (h *Host) HandlerPlugin(id string) (string, error) { return h.resolver.Handler(id) }

// StoragePlugin names the plugin serving URL scheme.
func (h *Host) StoragePlugin(scheme string) (string, error) { return h.resolver.Storage(scheme) }

// StartStorage starts (once) the plugin serving scheme and checks that it
// says it does.
func (h *Host) StartStorage(ctx context.Context, scheme string) (*Plugin, error) {
	name, err := h.StoragePlugin(scheme)
	if err != nil {
		return nil, err
	}
	p, err := h.Start(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := p.Serves("storage:" + scheme); err != nil {
		return nil, err
	}
	return p, nil
}

// Serves checks that p announces kind ("handler:make", "storage:s3").
func (p *Plugin) Serves(kind string) error {
	if p.Info.HasKind(kind) {
		return nil
	}
	return fmt.Errorf("plugin %s (%s) does not serve %s (it serves %s)", p.Name, p.Path, kind, strings.Join(p.Info.Kinds, ", "))
}
