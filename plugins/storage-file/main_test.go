package main

import (
	"encoding/json"
	"os"
	"testing"

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
	// Describe also checks the API version and the same Info over the
	// handshake.
	info := sdktest.DescribeWant(t, bin, sdktest.Want{Name: "file", Version: testVersion, Kinds: []string{"storage:file"},
		Capabilities: []string{"storage:get-dir", "storage:put", "storage:put-dir", "storage:progress"}})
	if !json.Valid(info.ConfigSchema["storage:file"]) {
		t.Errorf("describe: config schema %q", info.ConfigSchema["storage:file"])
	}
}

// TestDefaultVersion checks the version reported without -ldflags.
func TestDefaultVersion(t *testing.T) {
	if version != "0.1.0" {
		t.Errorf("version = %q, want the default 0.1.0", version)
	}
}
