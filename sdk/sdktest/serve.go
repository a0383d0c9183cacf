package sdktest

import (
	"testing"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/mmbuild/mmbuild/sdk/host"
	"github.com/mmbuild/mmbuild/sdk/internal/pluginset"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// Serve is plugin.Serve in-process for a test: it serves the components
// given by opts over real gRPC on a loopback socket and returns the host's
// connection to them. Plugin authors use it to exercise their
// implementation through the same wire code a real binary uses, without
// building one (Start runs the binary).
func Serve(t testing.TB, opts ...plugin.Option) *host.Conn {
	t.Helper()
	return ServeBundle(t, opts)
}

// ServeBundle is Serve for a binary that bundles several plugins
// (plugin.ServeBundle); Conn.Named picks the plugin Info describes.
func ServeBundle(t testing.TB, members ...[]plugin.Option) *host.Conn {
	t.Helper()
	c, err := pluginset.Bundle(members)
	if err != nil {
		t.Fatalf("plugin options: %v", err)
	}
	client, server := goplugin.TestPluginGRPCConn(t, false, pluginset.Plugins(c))
	t.Cleanup(func() {
		// Stop the server first: Close makes it stop itself, and two stops
		// at once race on its broker (go-plugin's own tests use this order).
		server.Stop()
		_ = client.Close()
	})
	conn, err := host.Dispense(client)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	return conn
}
