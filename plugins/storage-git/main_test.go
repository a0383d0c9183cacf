package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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
	return sdktest.Build(t, "git", "-X main.version="+testVersion)
}

// TestBinaryConformance runs the SDK's storage suite against the real
// binary, on a repository read in place: each fixture is committed at its
// path on the default branch, and base+rel (no "@rev") names it at HEAD.
func TestBinaryConformance(t *testing.T) {
	bin := pluginBinary(t)
	r := testservers.NewGitRepo(t, map[string]string{"README": "fixtures of sdktest.Storage\n"})
	seed := func(t testing.TB, rel, src string) {
		r.CopyIn(rel, src)
		r.Commit(nil)
	}
	sdktest.Storage(t, sdktest.Start(t, bin).Storage(), "git+"+r.URL()+"//", sdktest.ReadOnly(seed))
}

// TestBinaryAuth checks, across the process boundary, that a refused token
// is fs.ErrPermission and never shows, and that the resolved commit of a
// tag comes back as the response's Revision.
func TestBinaryAuth(t *testing.T) {
	const token = "tok3n-S3CRET-value"
	bin := pluginBinary(t)
	r := testservers.NewGitRepo(t, map[string]string{"a.txt": "a\n"})
	r.Tag("v1")
	commit := r.Head()
	u := "git+" + testservers.ServeGitHTTP(t, r.Root, testservers.WithGitBasicAuth("x-access-token", token)).RepoURL(r.Dir) + "@v1"
	s := sdktest.Start(t, bin).Storage()

	for _, opts := range []map[string]string{nil, {"token": "wr0ng-S3CRET"}} {
		dest := filepath.Join(t.TempDir(), "dest")
		_, err := s.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest, Options: opts})
		if !errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "S3CRET") {
			t.Errorf("Get with options %d: %v, want fs.ErrPermission without the token", len(opts), err)
		}
	}
	dest := filepath.Join(t.TempDir(), "dest")
	resp, err := s.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest, Options: map[string]string{"token": token}})
	if err != nil {
		t.Fatalf("Get with the token: %v", err)
	}
	if resp.Revision != commit || !resp.IsDir || resp.Files != 1 {
		t.Errorf("Get: %+v, want the tree of one file at revision %s", resp, commit)
	}
	if _, err := s.Put(t.Context(), &storage.PutRequest{SourcePath: dest, URL: u}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Put: %v, want errors.ErrUnsupported", err)
	}
}

func TestBinaryDescribe(t *testing.T) {
	bin := pluginBinary(t)
	// Describe also checks the API version and the same Info over the
	// handshake.
	kinds := []string{"storage:git+file", "storage:git+http", "storage:git+https"}
	info := sdktest.DescribeWant(t, bin, sdktest.Want{Name: "git", Version: testVersion, Kinds: kinds,
		Capabilities: []string{"storage:get-dir", "storage:revision", "storage:progress"}})
	if slices.Contains(info.Capabilities, "storage:put") {
		t.Errorf("describe: capabilities %q offer Put", info.Capabilities)
	}
	for _, k := range kinds {
		var schema struct {
			Properties           map[string]json.RawMessage `json:"properties"`
			AdditionalProperties bool                       `json:"additionalProperties"`
		}
		if err := json.Unmarshal(info.ConfigSchema[k], &schema); err != nil {
			t.Errorf("describe: config schema of %s: %v", k, err)
			continue
		}
		for _, key := range []string{"token", "user", "submodules"} {
			if _, ok := schema.Properties[key]; !ok {
				t.Errorf("describe: config schema of %s lacks %s", k, key)
			}
		}
		if schema.AdditionalProperties {
			t.Errorf("describe: config schema of %s allows unknown keys", k)
		}
	}
}

// TestDefaultVersion checks the version reported without -ldflags.
func TestDefaultVersion(t *testing.T) {
	if version != "0.1.0" {
		t.Errorf("version = %q, want the default 0.1.0", version)
	}
}
