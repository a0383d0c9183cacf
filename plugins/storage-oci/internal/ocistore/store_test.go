package ocistore

import (
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

// conn serves a Store over the SDK's real gRPC code, as the core sees it.
func conn(t *testing.T, opts ...Option) *plugin.Conn {
	return plugin.TestConn(t, plugin.WithName("oci"), plugin.WithStorage("oci", New(opts...)))
}

// TestConformance runs the SDK's storage suite against a real registry on
// loopback, objects stored under one repository.
func TestConformance(t *testing.T) {
	reg := testservers.StartRegistry(t)
	sdktest.Storage(t, conn(t).Storage(), "oci://"+reg.Host+"/conformance//")
}
