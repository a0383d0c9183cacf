package main

import (
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

// TestConformance runs the SDK's storage suite against the store, through the
// same gRPC code a plugin binary uses, without building one.
func TestConformance(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("mem"), plugin.WithStorage("mem", newStore()))
	sdktest.Storage(t, conn.Storage(), "mem://test/", sdktest.WithoutDirs())
}
