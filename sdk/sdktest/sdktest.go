// Package sdktest holds the conformance suites a plugin author runs against
// their own handler, storage or cataloger plugin, in-process (Serve) or as
// the real binary (Start).
package sdktest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/mmbuild/mmbuild/sdk/host"
)

// Start runs the plugin binary at path the way the core does (handshake,
// gRPC, the same API versions), stops it when the test ends, and returns the
// connection to it.
func Start(t testing.TB, path string) *host.Conn {
	t.Helper()
	cfg := host.ClientConfig(exec.Command(path))
	// Plugin logs go to stderr: a test's t.Log may not be used after it ends,
	// and a plugin may still be talking then.
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: os.Stderr, Level: hclog.Warn})
	client := goplugin.NewClient(cfg)
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start plugin %s: %v", path, err)
	}
	conn, err := host.Dispense(rpc)
	if err != nil {
		t.Fatalf("dispense plugin %s: %v", path, err)
	}
	if _, err := conn.Info(context.Background()); err != nil {
		t.Fatalf("plugin %s Info: %v", path, err)
	}
	return conn
}
