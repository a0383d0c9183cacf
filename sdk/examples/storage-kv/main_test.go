package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// TestConformance runs the SDK's storage suite against the store through
// gRPC, with the option its schema requires and its credential, and checks
// that a wrong token is refused without being echoed.
func TestConformance(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, ".token"), []byte("kv-s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := sdktest.Serve(t, plugin.WithName("kv"), plugin.WithStorage("kv", store{}))
	sdktest.Storage(t, conn.Storage(), "kv://bucket/",
		sdktest.WithoutDirs(),
		sdktest.WithOptions(map[string]string{"root": root, "token": "kv-s3cret-token"}),
		sdktest.WithRefusedCredential(map[string]string{"token": "wrong-kv-token"}))
}

// TestDescribe checks what the plugin announces: its schema, with the
// credential writeOnly and root required.
func TestDescribe(t *testing.T) {
	info, err := sdktest.Serve(t, plugin.WithName("kv"), plugin.WithStorage("kv", store{})).Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !info.HasKind("storage:kv") || string(info.ConfigSchema["storage:kv"]) != string(schema) {
		t.Errorf("info %+v", info)
	}
	want := []string{storage.CapabilityBatch, storage.CapabilityProgress, storage.CapabilityPut}
	if len(info.Capabilities) != len(want) {
		t.Fatalf("capabilities %q, want %q", info.Capabilities, want)
	}
	for i := range want {
		if info.Capabilities[i] != want[i] {
			t.Errorf("capabilities %q, want %q", info.Capabilities, want)
		}
	}
}
