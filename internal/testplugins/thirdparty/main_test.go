package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

// TestConformance runs the SDK's storage suite against the store, as its
// author would from the SDK's README: with the option its schema requires,
// its credential, and a wrong token that must be refused unechoed.
func TestConformance(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, ".token"), []byte("cas-s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := sdktest.Serve(t, plugin.WithName("cas"), plugin.WithStorage("cas", store{}))
	sdktest.Storage(t, conn.Storage(), "cas://",
		sdktest.WithFlatNames(),
		sdktest.WithoutModes(),
		sdktest.WithOptions(map[string]string{"root": root, "token": "cas-s3cret-token"}),
		sdktest.WithRefusedCredential(map[string]string{"token": "wrong-cas-token"}))
}
