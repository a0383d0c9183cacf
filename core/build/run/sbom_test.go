package run

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
	"github.com/mmbuild/mmbuild/plugins/handler-make/makehandler"
	"github.com/mmbuild/mmbuild/plugins/storage-file/filestore"
	"github.com/mmbuild/mmbuild/sdk/host"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

// lister is a cataloger that reports the artifact itself as the one file
// inside it (and a package), hashing what it read; lie makes it report
// another sha256 for the artifact.
type lister struct{ lie bool }

func (l lister) Catalog(_ context.Context, req *sbom.CatalogRequest, emit func(sbom.Chunk) error) (*sbom.CatalogResult, error) {
	data, err := os.ReadFile(req.Path)
	if err != nil {
		return nil, err
	}
	s256, s1 := sha256.Sum256(data), sha1.Sum(data)
	if err := emit(sbom.Chunk{
		Files:    []sbom.File{{Path: "inner/" + req.Name, Size: int64(len(data)), SHA256: hex.EncodeToString(s256[:]), SHA1: hex.EncodeToString(s1[:])}},
		Packages: []sbom.Package{{Name: "example.com/greeting", Version: "v1.0.0", Type: "go-module", PURL: "pkg:golang/example.com/greeting@v1.0.0"}},
	}); err != nil {
		return nil, err
	}
	sum := hex.EncodeToString(s256[:])
	if l.lie {
		sum = strings.Repeat("0", 64)
	}
	return &sbom.CatalogResult{SHA256: sum, Tool: "lister 1.0"}, nil
}

func catalogHost(t *testing.T, c sbom.Cataloger) *pluginhost.Host {
	t.Helper()
	file := sdktest.Serve(t, plugin.WithName("file"), plugin.WithVersion("test"), plugin.WithStorage("file", filestore.New()))
	mk := sdktest.Serve(t, plugin.WithName("make"), plugin.WithVersion("test"), plugin.WithHandler("make", makehandler.New()))
	cat := sdktest.Serve(t, plugin.WithName("sbom-lister"), plugin.WithVersion("test"), plugin.WithCataloger("lister", c))
	h := pluginhost.NewAttached(map[string]*host.Conn{"file": file, "make": mk, "sbom-lister": cat})
	t.Cleanup(h.Close)
	return h
}

const sbomConfig = baseConfig + `sbom:
  generator: lister
  formats: [spdx, cyclonedx]
`

func TestSBOMWithCataloger(t *testing.T) {
	p := newProject(t, sbomConfig)
	o := runProject(t, p, WithHost(catalogHost(t, lister{})), WithToolVersion("9.9.9"))
	if o.err != nil {
		t.Fatal(o.err)
	}
	if len(o.res.SBOMPaths) != 2 {
		t.Fatalf("SBOMs %v", o.res.SBOMPaths)
	}
	spdxDoc, err := os.ReadFile(o.res.SBOMPaths[0])
	if err != nil {
		t.Fatal(err)
	}
	cdxDoc, err := os.ReadFile(o.res.SBOMPaths[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"./inner/out.txt", "pkg:golang/example.com/greeting@v1.0.0", "lister-1.0", "mmbuild-9.9.9", greetingSHA256, "BUILD_DEPENDENCY_OF", "GENERATED_FROM", "file://" + p.dest} {
		if !strings.Contains(string(spdxDoc), want) {
			t.Errorf("the SPDX SBOM lacks %q", want)
		}
	}
	for _, want := range []string{`"inner/out.txt"`, "pkg:golang/example.com/greeting@v1.0.0", `"lister"`, `"specVersion": "1.6"`} {
		if !strings.Contains(string(cdxDoc), want) {
			t.Errorf("the CycloneDX SBOM lacks %q", want)
		}
	}
	pub := strings.Join(p.published(t), ",")
	for _, f := range []string{"sbom.spdx.json", "sbom.cdx.json"} {
		if !strings.Contains(pub, f) {
			t.Errorf("%s not published: %s", f, pub)
		}
	}
}

// A cataloger that did not read the file the core hashed is refused, and
// nothing is published; so is one that reports more than maxEntries.
func TestSBOMCatalogerRefused(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
		c                sbom.Cataloger
	}{
		{"another file", sbomConfig, "its report is refused", lister{lie: true}},
		{"too many entries", sbomConfig + "", "more than 1 packages and files", lister{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := tc.yaml
			if tc.name == "too many entries" {
				yaml = strings.Replace(yaml, "  generator: lister\n", "  generator: lister\n  maxEntries: 1\n", 1)
			}
			p := newProject(t, yaml)
			o := runProject(t, p, WithHost(catalogHost(t, tc.c)))
			if o.err == nil || !strings.Contains(o.err.Error(), tc.want) || !strings.Contains(o.err.Error(), "sbom") {
				t.Fatalf("run: %v, want %q", o.err, tc.want)
			}
			if got := p.published(t); len(got) != 0 {
				t.Fatalf("published %v after a refused SBOM", got)
			}
			if _, err := os.Stat(filepath.Join(p.dir, "out", StatementName)); err == nil {
				t.Fatal("a local attestation was written after a refused SBOM")
			}
		})
	}
}
