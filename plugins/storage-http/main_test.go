package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"strings"
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

// pluginBinary builds this plugin once per test run, with its version set
// the way a release sets it, and returns its path. It skips with -short.
func pluginBinary(t *testing.T) string {
	return sdktest.Build(t, "http", "-X main.version="+testVersion)
}

func TestBinaryConformance(t *testing.T) {
	bin := pluginBinary(t)
	srv := testservers.NewHTTPServer(t, t.TempDir(), testservers.WithPut())
	sdktest.Storage(t, sdktest.Start(t, bin).Storage(), srv.URL+"/base/", sdktest.WithoutDirs(), sdktest.WithoutModes())
}

// TestBinaryConformanceHTTPS trusts the test CA through SSL_CERT_FILE, which
// the core passes to plugins and Go reads natively.
func TestBinaryConformanceHTTPS(t *testing.T) {
	bin := pluginBinary(t)
	srv := testservers.NewHTTPServer(t, t.TempDir(), testservers.WithPut(), testservers.WithTLS())
	t.Setenv("SSL_CERT_FILE", srv.CAFile)
	conn := sdktest.Start(t, bin)
	sdktest.Storage(t, conn.Storage(), srv.URL+"/base/", sdktest.WithoutDirs(), sdktest.WithoutModes())

	// The sentinels of the contract cross the process boundary.
	_, err := conn.Storage().Stat(t.Context(), &storage.StatRequest{URL: srv.URL + "/missing?sig=secret"})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "?REDACTED") || strings.Contains(err.Error(), "secret") {
		t.Errorf("Stat of a missing object: %v, want fs.ErrNotExist with the query redacted", err)
	}
}

func TestBinaryDescribe(t *testing.T) {
	bin := pluginBinary(t)
	// Describe also checks the API version and the same Info over the
	// handshake.
	info := sdktest.DescribeWant(t, bin, sdktest.Want{Name: "http", Version: testVersion, Kinds: []string{"storage:http", "storage:https"},
		Capabilities: []string{storage.CapabilityBatch, storage.CapabilityProgress, storage.CapabilityPut, storage.CapabilityResume}, ExactCapabilities: true})
	for _, k := range info.Kinds {
		if !json.Valid(info.ConfigSchema[k]) {
			t.Errorf("describe: config schema of %s: %q", k, info.ConfigSchema[k])
		}
	}
}

// TestDefaultVersion checks the version reported without -ldflags.
func TestDefaultVersion(t *testing.T) {
	if version != "0.1.0" {
		t.Errorf("version = %q, want the default 0.1.0", version)
	}
}
