package sdktest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// Describe runs `BIN describe` and returns what it printed, after the checks
// every plugin must pass: strict JSON, this SDK's API version, a config
// schema that is valid JSON for kinds the plugin serves, and the same
// answer over the handshake (the Info RPC) as without one.
func Describe(t testing.TB, bin string) *plugin.Info {
	t.Helper()
	out, err := exec.Command(bin, "describe").Output()
	if err != nil {
		t.Fatalf("%s describe: %v", bin, err)
	}
	var info plugin.Info
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&info); err != nil {
		t.Fatalf("%s describe printed invalid JSON: %v\n%s", bin, err, out)
	}
	if info.APIVersion != plugin.APIVersion {
		t.Errorf("describe: api version %d, want %d", info.APIVersion, plugin.APIVersion)
	}
	for kind, schema := range info.ConfigSchema {
		if !slices.Contains(info.Kinds, kind) {
			t.Errorf("describe: config schema for %q, which is not one of its kinds %q", kind, info.Kinds)
		}
		if !json.Valid(schema) {
			t.Errorf("describe: config schema of %s is not JSON: %q", kind, schema)
		}
	}
	got, err := Start(t, bin).Info(t.Context())
	if err != nil {
		t.Fatalf("%s Info: %v", bin, err)
	}
	if got.Name != info.Name || got.Version != info.Version || !slices.Equal(got.Kinds, info.Kinds) || !slices.Equal(got.Capabilities, info.Capabilities) {
		t.Errorf("Info over gRPC %+v differs from what describe printed %+v", got, info)
	}
	return &info
}

// Want is what a plugin's own tests expect it to describe: its name and
// version, exactly its kinds, and at least its capabilities (exactly them,
// with ExactCapabilities).
type Want struct {
	Name, Version     string
	Kinds             []string
	Capabilities      []string
	ExactCapabilities bool
}

// DescribeWant is Describe, with its checks, then the checks of w.
func DescribeWant(t testing.TB, bin string, w Want) *plugin.Info {
	t.Helper()
	info := Describe(t, bin)
	if info.Name != w.Name || info.Version != w.Version {
		t.Errorf("describe: name %q version %q, want %s %s", info.Name, info.Version, w.Name, w.Version)
	}
	if !slices.Equal(info.Kinds, w.Kinds) {
		t.Errorf("describe: kinds %q, want %q", info.Kinds, w.Kinds)
	}
	if w.ExactCapabilities && !slices.Equal(info.Capabilities, w.Capabilities) {
		t.Errorf("describe: capabilities %q, want %q", info.Capabilities, w.Capabilities)
	}
	for _, c := range w.Capabilities {
		if !slices.Contains(info.Capabilities, c) {
			t.Errorf("describe: capabilities %q lack %s", info.Capabilities, c)
		}
	}
	return info
}
