package main

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
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
		info := sdktest.Describe(t, bin)
		if info.Name != "make" || info.Version != testVersion || info.APIVersion != plugin.APIVersion {
			t.Errorf("describe = %+v", info)
		}
		if !slices.Equal(info.Kinds, []string{"handler:make"}) {
			t.Errorf("kinds = %q, want [handler:make]", info.Kinds)
		}
		if !slices.Equal(info.Capabilities, []string{"handler:process-group", "handler:stream-output"}) {
			t.Errorf("capabilities = %q", info.Capabilities)
		}
		if !json.Valid(info.ConfigSchema["handler:make"]) {
			t.Errorf("config schema = %s", info.ConfigSchema["handler:make"])
		}
	})

	conn := sdktest.Start(t, bin)
	t.Run("info", func(t *testing.T) {
		info, err := conn.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.Version != testVersion || !info.HasKind("handler:make") {
			t.Errorf("Info = %+v", info)
		}
	})
	t.Run("conformance", func(t *testing.T) {
		sdktest.Handler(t, conn.Handler(), conformance.Cases())
	})
}
