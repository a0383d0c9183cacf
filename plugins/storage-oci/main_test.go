package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

const testVersion = "9.8.7-test"

func TestMain(m *testing.M) {
	code := m.Run()
	sdktest.RemoveBuilds()
	os.Exit(code)
}

// pluginBinary builds this plugin once per test run, lean and with its
// version set the way a release builds it. It skips with -short.
func pluginBinary(t *testing.T) string {
	return sdktest.Build(t, "oci", "-s -w -X main.version="+testVersion)
}

// noDockerConfig keeps the developer's own registry logins out.
func noDockerConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("MMBUILD_OCI_DOCKER_CONFIG", "")
	t.Setenv("XDG_RUNTIME_DIR", home)
}

// TestBinaryConformance runs the storage suite against the real binary,
// started as the core starts it, and a real registry on loopback.
func TestBinaryConformance(t *testing.T) {
	bin := pluginBinary(t)
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	sdktest.Storage(t, sdktest.Start(t, bin).Storage(), "oci://"+reg.Host+"/conformance//")
}

// The binary reads the docker config MMBUILD_OCI_DOCKER_CONFIG names: the
// core hands plugins MMBUILD_* variables, not DOCKER_CONFIG.
func TestBinaryDockerConfig(t *testing.T) {
	bin := pluginBinary(t)
	noDockerConfig(t)
	reg := testservers.StartRegistry(t, testservers.WithRegistryAuth())
	src := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(src, []byte("logged in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	u := "oci://" + reg.Host + "/private//f.txt"

	s := sdktest.Start(t, bin).Storage()
	if _, err := s.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: u}); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Put without a docker config: %v, want fs.ErrPermission", err)
	}
	t.Setenv("MMBUILD_OCI_DOCKER_CONFIG", reg.DockerConfig(t))
	s = sdktest.Start(t, bin).Storage()
	if _, err := s.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: u}); err != nil {
		t.Fatalf("Put with MMBUILD_OCI_DOCKER_CONFIG: %v", err)
	}
	dest := filepath.Join(t.TempDir(), "dest")
	if _, err := s.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest}); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "logged in\n" {
		t.Errorf("Get wrote %q", b)
	}
}

func TestBinaryDescribe(t *testing.T) {
	bin := pluginBinary(t)
	// Describe also checks the API version and the same Info over the
	// handshake.
	info := sdktest.DescribeWant(t, bin, sdktest.Want{Name: "oci", Version: testVersion, Kinds: []string{"storage:oci"},
		Capabilities: []string{"storage:attach", "storage:attached", "storage:images", "storage:get-dir", "storage:put", "storage:put-dir", "storage:progress"}})
	var schema struct {
		Properties map[string]struct {
			WriteOnly bool `json:"writeOnly"`
		}
		AdditionalProperties *bool `json:"additionalProperties"`
	}
	if err := json.Unmarshal(info.ConfigSchema["storage:oci"], &schema); err != nil {
		t.Fatalf("describe: config schema: %v", err)
	}
	for opt, secret := range map[string]bool{"username": false, "password": true, "token": true, "insecure": false, "platform": false} {
		p, ok := schema.Properties[opt]
		if !ok || p.WriteOnly != secret {
			t.Errorf("schema: option %s: present %v, writeOnly %v; want writeOnly %v", opt, ok, p.WriteOnly, secret)
		}
	}
	if schema.AdditionalProperties == nil || *schema.AdditionalProperties {
		t.Error("schema: additionalProperties is not false")
	}
}

// TestDefaultVersion checks the version reported without -ldflags.
func TestDefaultVersion(t *testing.T) {
	if version != "0.1.0" {
		t.Errorf("version = %q, want the default 0.1.0", version)
	}
}
