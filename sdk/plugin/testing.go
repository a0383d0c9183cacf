package plugin

import (
	"testing"

	goplugin "github.com/hashicorp/go-plugin"
)

// TestConn serves the components given by opts in-process, over real gRPC on
// a loopback socket, and returns the host's connection to them. Plugin
// authors use it (through sdktest) to exercise their implementation through
// the same wire code a real binary uses, without building one.
func TestConn(t testing.TB, opts ...Option) *Conn {
	t.Helper()
	return TestBundleConn(t, opts)
}

// TestBundleConn is TestConn for a binary that bundles several plugins
// (ServeBundle); Conn.Named picks the plugin Info describes.
func TestBundleConn(t testing.TB, members ...[]Option) *Conn {
	t.Helper()
	b, err := newBundle(members...)
	if err != nil {
		t.Fatalf("plugin options: %v", err)
	}
	ps := map[string]goplugin.Plugin{pluginSetName: &grpcPlugin{impl: b}}
	client, server := goplugin.TestPluginGRPCConn(t, false, ps)
	t.Cleanup(func() {
		// Stop the server first: Close makes it stop itself, and two stops
		// at once race on its broker (go-plugin's own tests use this order).
		server.Stop()
		_ = client.Close()
	})
	conn, err := Dispense(client)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	return conn
}
