package main

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/plugins/sbom-syft/internal/archivetest"
	"github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

const testVersion = "9.8.7-test"

func TestMain(m *testing.M) {
	code := m.Run()
	sdktest.RemoveBuilds()
	os.Exit(code)
}

// pluginBinary builds this plugin once per test run, with its version set
// the way a release sets it, and returns its path. It skips with -short.
func pluginBinary(t testing.TB) string {
	return sdktest.Build(t, "sbom-syft", "-X main.version="+testVersion)
}

func TestBinaryDescribe(t *testing.T) {
	bin := pluginBinary(t)
	// Describe also checks the API version and the same Info over the
	// handshake.
	info := sdktest.DescribeWant(t, bin, sdktest.Want{Name: "sbom-syft", Version: testVersion, Kinds: []string{"sbom:syft"}})
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(info.ConfigSchema["sbom:syft"], &schema); err != nil || len(schema.Properties) != 3 || schema.Properties["catalogers"] == nil {
		t.Errorf("describe: config schema %s (%v)", info.ConfigSchema["sbom:syft"], err)
	}
}

// tarGz writes a tar.gz of the given files (name → contents; a name
// ending in "*" is executable, the star dropped) in name order.
func tarGz(t testing.TB, path string, files map[string][]byte) {
	t.Helper()
	var entries []archivetest.Entry
	for _, n := range slices.Sorted(maps.Keys(files)) {
		e := archivetest.Entry{Name: n, Body: files[n]}
		if name, ok := strings.CutSuffix(n, "*"); ok {
			e.Name, e.Mode = name, 0o755
		}
		entries = append(entries, e)
	}
	archivetest.WriteTar(t, path, true, entries)
}

func catalog(t testing.TB, c sbom.Cataloger, req *sbom.CatalogRequest) (*sbom.CatalogResult, []sbom.File, []sbom.Package, error) {
	var files []sbom.File
	var pkgs []sbom.Package
	res, err := c.Catalog(t.Context(), req, func(ch sbom.Chunk) error {
		files = append(files, ch.Files...)
		pkgs = append(pkgs, ch.Packages...)
		return nil
	})
	return res, files, pkgs, err
}

// The real binary, started the way the core starts it, catalogs a tar.gz
// holding itself: its files, and the Go modules it was built from.
func TestBinaryCatalog(t *testing.T) {
	bin := pluginBinary(t)
	self, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	readme := []byte("the plugin, packed\n")
	path := filepath.Join(t.TempDir(), "plugin.tar.gz")
	tarGz(t, path, map[string][]byte{"bin/mmbuild-plugin-sbom-syft*": self, "doc/README": readme})
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := sdktest.Start(t, bin).Cataloger()

	res, files, pkgs, err := catalog(t, c, &sbom.CatalogRequest{CatalogerID: "syft", Name: "plugin.tar.gz", Path: path, MaxEntries: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 != archivetest.SHA(raw) || res.Tool != "syft 1.57.1" {
		t.Errorf("result %+v, want sha256 %s and syft 1.57.1", res, archivetest.SHA(raw))
	}
	want := []sbom.File{
		{Path: "bin/mmbuild-plugin-sbom-syft", Size: int64(len(self)), SHA256: archivetest.SHA(self), SHA1: archivetest.SHA1(self)},
		{Path: "doc/README", Size: int64(len(readme)), SHA256: archivetest.SHA(readme), SHA1: archivetest.SHA1(readme)},
	}
	if !slices.Equal(files, want) {
		t.Errorf("files %+v, want %+v", files, want)
	}
	var syft *sbom.Package
	for i, p := range pkgs {
		if p.Name == "github.com/anchore/syft" {
			syft = &pkgs[i]
		}
	}
	if syft == nil || syft.Version != "v1.57.1" || syft.Type != "go-module" || syft.PURL != "pkg:golang/github.com/anchore/syft@v1.57.1" ||
		!slices.Equal(syft.Locations, []string{"bin/mmbuild-plugin-sbom-syft"}) {
		t.Errorf("syft's module: %+v", syft)
	}
	if len(pkgs) < 100 {
		t.Errorf("%d packages in the plugin binary, want its hundreds of modules", len(pkgs))
	}

	// Errors cross the wire as one line, the missing file as fs.ErrNotExist.
	missing := filepath.Join(t.TempDir(), "gone.tar.gz")
	_, _, _, err = catalog(t, c, &sbom.CatalogRequest{CatalogerID: "syft", Name: "gone.tar.gz", Path: missing})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing: %v", err)
	}
	truncated := filepath.Join(t.TempDir(), "cut.tar.gz")
	if err := os.WriteFile(truncated, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = catalog(t, c, &sbom.CatalogRequest{CatalogerID: "syft", Name: "cut.tar.gz", Path: truncated})
	if err == nil || strings.Contains(err.Error(), "\n") || !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "unexpected EOF") {
		t.Errorf("truncated: %v", err)
	}
	_, _, _, err = catalog(t, c, &sbom.CatalogRequest{CatalogerID: "syft", Name: "plugin.tar.gz", Path: path, MaxEntries: 50})
	if err == nil || !strings.Contains(err.Error(), sbom.ErrTooMany.Error()) {
		t.Errorf("MaxEntries 50: %v", err)
	}
	_, _, _, err = catalog(t, c, &sbom.CatalogRequest{CatalogerID: "syft", Name: "plugin.tar.gz", Path: path, Options: map[string]string{"format": "spdx"}})
	if err == nil || !strings.Contains(err.Error(), `unknown option "format"`) {
		t.Errorf("unknown option: %v", err)
	}
	_, _, _, err = catalog(t, c, &sbom.CatalogRequest{CatalogerID: "trivy", Path: path})
	if err == nil || !strings.Contains(err.Error(), `no cataloger "trivy"`) {
		t.Errorf("unknown cataloger id: %v", err)
	}
}

// TestDefaultVersion checks the version reported without -ldflags.
func TestDefaultVersion(t *testing.T) {
	if version != "0.1.0" {
		t.Errorf("version = %q, want the default 0.1.0", version)
	}
}
