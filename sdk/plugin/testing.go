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
	o, err := newOptions(opts)
	if err != nil {
		t.Fatalf("plugin options: %v", err)
	}
	ps := map[string]goplugin.Plugin{pluginSetName: &grpcPlugin{impl: o}}
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
