package remote

import (
	"context"

	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
)

// HostResolver resolves a scheme to the storage plugin the host starts for
// it (once), checked to announce that scheme.
func HostResolver(ctx context.Context, h *pluginhost.Host) Resolver {
	return func(scheme string) (Backend, error) {
		p, err := h.StartStorage(ctx, scheme)
		if err != nil {
			return Backend{}, err
		}
		return Backend{Name: p.Name, Storage: p.Conn.Storage(), Explain: p.Explain, Capabilities: p.Info.Capabilities}, nil
	}
}
