package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/sdk/host"
)

// NewAttached returns a Host whose plugins are already connected, by name:
// in-process implementations served over real gRPC (sdktest.Serve), so
// the core's own tests run the real protocol without building binaries.
// Each plugin's SHA256 is derived from its name (there is no binary to
// hash); a name not in conns is not found.
func NewAttached(conns map[string]*host.Conn, opts ...Option) *Host {
	find := func(name string) (string, error) { return "", &discovery.NotFoundError{Name: name} }
	pin := func(string) (string, bool) { return "", false }
	h := New(find, pin, opts...)
	h.attached = conns
	return h
}

func attach(ctx context.Context, name string, conn *host.Conn) (*Plugin, error) {
	info, err := conn.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("plugin %s (attached): Info: %w", name, err)
	}
	return &Plugin{
		Name: name, Path: "attached:" + name, SHA256: attachedSum(name),
		Pinned: true, Info: info, Conn: conn, stderr: &tail{},
	}, nil
}

// attachedSum is the SHA256 of the plugin called name served in-process.
func attachedSum(name string) string {
	sum := sha256.Sum256([]byte("attached:" + name))
	return "sha256:" + hex.EncodeToString(sum[:])
}
