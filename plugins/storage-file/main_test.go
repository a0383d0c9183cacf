package main

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

const testVersion = "9.8.7-test"

func TestMain(m *testing.M) {
	code := m.Run()
	sdktest.RemoveBuilds()
	os.Exit(code)
}

// pluginBinary builds this plugin once per test run, with its version set
// the way a release sets it, and returns its path. It skips with -short.
func pluginBinary(t *testing.T) string {
	return sdktest.Build(t, "file", "-X main.version="+testVersion)
}

func TestBinaryConformance(t *testing.T) {
	bin := pluginBinary(t)
	sdktest.Storage(t, sdktest.Start(t, bin).Storage(), "file://"+t.TempDir()+"/")
}

func TestBinaryDescribe(t *testing.T) {
	bin := pluginBinary(t)
	info := sdktest.Describe(t, bin)
	if info.Name != "file" || info.Version != testVersion || info.APIVersion != plugin.APIVersion {
		t.Errorf("describe: name %q version %q api %d, want file %s %d", info.Name, info.Version, info.APIVersion, testVersion, plugin.APIVersion)
	}
	if !slices.Equal(info.Kinds, []string{"storage:file"}) {
		t.Errorf("describe: kinds %q, want [storage:file]", info.Kinds)
	}
	for _, c := range []string{"storage:get-dir", "storage:put", "storage:put-dir", "storage:progress"} {
		if !slices.Contains(info.Capabilities, c) {
			t.Errorf("describe: capabilities %q lack %s", info.Capabilities, c)
		}
	}
	if !json.Valid(info.ConfigSchema["storage:file"]) {
		t.Errorf("describe: config schema %q", info.ConfigSchema["storage:file"])
	}

	// The same over the handshake.
	got, err := sdktest.Start(t, bin).Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != testVersion || !slices.Equal(got.Kinds, info.Kinds) {
		t.Errorf("Info over gRPC: %+v, want what describe printed: %+v", got, info)
	}
}

// TestDefaultVersion checks the version reported without -ldflags.
func TestDefaultVersion(t *testing.T) {
	if version != "0.1.0" {
		t.Errorf("version = %q, want the default 0.1.0", version)
	}
}
