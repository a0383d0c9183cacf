package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

const testVersion = "9.8.7-test"

func TestMain(m *testing.M) {
	code := m.Run()
	sdktest.RemoveBuilds()
	os.Exit(code)
}

// pluginBinary builds this plugin once per test run, lean and with its
// version set the way a release builds it, and returns its path. It skips
// with -short.
func pluginBinary(t *testing.T) string {
	return sdktest.Build(t, "s3", "-s -w -X main.version="+testVersion)
}

// TestBinaryConformance runs the storage suite against the real binary,
// started as the core starts it, reaching versitygw through the environment
// it inherits: AWS credentials and region, and MMBUILD_S3_ENDPOINT.
func TestBinaryConformance(t *testing.T) {
	bin := pluginBinary(t)
	srv := testservers.StartS3(t)
	srv.SetEnv(t)
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("MMBUILD_S3_ENDPOINT", srv.Endpoint)
	srv.CreateBucket(t, "conformance")
	sdktest.Storage(t, sdktest.Start(t, bin).Storage(), "s3://conformance/prefix/")
}

func TestBinaryDescribe(t *testing.T) {
	bin := pluginBinary(t)
	// With no AWS settings at all; Describe also checks the API version
	// and the same Info over the handshake.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	info := sdktest.DescribeWant(t, bin, sdktest.Want{Name: "s3", Version: testVersion, Kinds: []string{"storage:s3"},
		Capabilities: []string{"storage:get-dir", "storage:put", "storage:put-dir", "storage:progress"}})
	if !json.Valid(info.ConfigSchema["storage:s3"]) {
		t.Errorf("describe: config schema %q", info.ConfigSchema["storage:s3"])
	}
}

// TestDefaultVersion checks the version reported without -ldflags.
func TestDefaultVersion(t *testing.T) {
	if version != "0.1.0" {
		t.Errorf("version = %q, want the default 0.1.0", version)
	}
}
