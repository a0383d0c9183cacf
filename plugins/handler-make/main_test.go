package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/sdktest"

	"github.com/mmbuild/mmbuild/plugins/handler-make/internal/conformance"
)

const testVersion = "1.2.3-test"

func TestMain(m *testing.M) {
	code := m.Run()
	sdktest.RemoveBuilds()
	os.Exit(code)
}

// buildPlugin builds this plugin's binary, with its version set the way a
// release sets it.
func buildPlugin(t *testing.T) string {
	return sdktest.Build(t, "make", "-X main.version="+testVersion)
}

func TestBinary(t *testing.T) {
	bin := buildPlugin(t)

	t.Run("describe", func(t *testing.T) {
		// Describe also checks the API version and the same Info over the
		// handshake.
		info := sdktest.DescribeWant(t, bin, sdktest.Want{Name: "make", Version: testVersion, Kinds: []string{"handler:make"},
			Capabilities: []string{"handler:process-group", "handler:stream-output"}, ExactCapabilities: true})
		if !json.Valid(info.ConfigSchema["handler:make"]) {
			t.Errorf("config schema = %s", info.ConfigSchema["handler:make"])
		}
	})

	conn := sdktest.Start(t, bin)
	t.Run("conformance", func(t *testing.T) {
		sdktest.Handler(t, conn.Handler(), conformance.Cases())
	})
}
