package sbom_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/santhosh-tekuri/jsonschema/v6"
	spdxjson "github.com/spdx/tools-golang/json"
	spdxcommon "github.com/spdx/tools-golang/spdx/v2/common"

	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	catalog "github.com/mmbuild/mmbuild/sdk/sbom"
)

var created = time.Unix(1700000000, 0)

const commit = "0123456789abcdef0123456789abcdef01234567"

func inputs() sbom.Inputs {
	return sbom.Inputs{
		Name:    "server",
		Created: created,
		Artifacts: []sbom.Artifact{
			{Name: "server.tar.gz", Digest: map[string]string{"sha256": strings.Repeat("a", 64), "sha512": strings.Repeat("c", 128)}, Size: 1 << 20,
				DownloadLocation: "s3://bucket/builds/k/server.tar.gz",
				Contents: &sbom.Contents{
					Files: []catalog.File{
						{Path: "server/bin/server", Size: 900, SHA256: strings.Repeat("1", 64), SHA1: strings.Repeat("2", 40)},
						{Path: "server/README.md", Size: 12, SHA256: strings.Repeat("3", 64), SHA1: strings.Repeat("4", 40)},
					},
					Packages: []catalog.Package{
						{Name: "golang.org/x/text", Version: "v0.3.8", Type: "go-module", PURL: "pkg:golang/golang.org/x/text@v0.3.8", Licenses: []string{"BSD-3-Clause"}, Locations: []string{"server/bin/server"}},
						{Name: "github.com/mattermost/server", Version: "(devel)", Type: "go-module", Licenses: []string{"see LICENSE.txt"}},
					},
				}},
			{Name: "mmctl", Digest: map[string]string{"sha256": strings.Repeat("b", 64)}, Size: 7},
		},
		Source: &sbom.Source{Repo: "https://git.example.com/org/server.git", Commit: commit},
		Materials: []sbom.Material{
			{URI: "https://example.com/webapp-1.2.tgz", Digest: map[string]string{"sha256": strings.Repeat("d", 64)}},
			{URI: "file:///srv/materials/greeting.txt", Digest: map[string]string{"sha256": strings.Repeat("e", 64)}},
		},
		Tools: []sbom.Tool{{Name: "mmbuild", Version: "0.2.0"}, {Name: "mmbuild-plugin-make", Version: "0.2.0"}, {Name: "syft", Version: "1.57.1"}},
	}
}

// schemas compiles the official JSON schemas (testdata/schema) with a
// validator we did not write.
func schemas(t *testing.T) (spdxSchema, cdxSchema *jsonschema.Schema) {
	t.Helper()
	c := jsonschema.NewCompiler()
	load := func(file, url string) {
		t.Helper()
		f, err := os.Open(filepath.Join("testdata", "schema", file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	load("spdx-schema-2.3.json", "http://spdx.org/rdf/terms/2.3")
	load("bom-1.6.schema.json", "http://cyclonedx.org/schema/bom-1.6.schema.json")
	load("spdx.schema.json", "http://cyclonedx.org/schema/spdx.schema.json")
	load("jsf-0.82.schema.json", "http://cyclonedx.org/schema/jsf-0.82.schema.json")
	var err error
	if spdxSchema, err = c.Compile("http://spdx.org/rdf/terms/2.3"); err != nil {
		t.Fatal(err)
	}
	if cdxSchema, err = c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json"); err != nil {
		t.Fatal(err)
	}
	return spdxSchema, cdxSchema
}

func validate(t *testing.T, s *jsonschema.Schema, doc []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(v); err != nil {
		t.Fatalf("the document does not validate against its official schema: %v\n%s", err, doc)
	}
}

// Both formats validate against their official schemas, round-trip through
// their own libraries, and say what is inside the artifacts, where they come
// from and what made them.
func TestDocumentsValidateAndRoundTrip(t *testing.T) {
	spdxSchema, cdxSchema := schemas(t)
	in := inputs()

	doc, err := sbom.Document(in, sbom.SPDX)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, spdxSchema, doc)
	d, err := spdxjson.Read(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if d.SPDXVersion != "SPDX-2.3" || d.DocumentName != "server" || d.CreationInfo.Created != "2023-11-14T22:13:20Z" ||
		!strings.HasPrefix(d.DocumentNamespace, sbom.NamespacePrefix+"server-") {
		t.Fatalf("header %+v", d)
	}
	if len(d.Files) != 2 || d.Files[0].FileName != "./server/README.md" {
		t.Fatalf("files %+v", d.Files)
	}
	rels := map[string]int{}
	for _, r := range d.Relationships {
		rels[r.Relationship]++
	}
	for kind, n := range map[string]int{
		spdxcommon.TypeRelationshipDescribe: 2, spdxcommon.TypeRelationshipContains: 4, spdxcommon.TypeRelationshipGeneratedFrom: 2,
		spdxcommon.TypeRelationshipBuildDependencyOf: 4, spdxcommon.TypeRelationshipBuildToolOf: 6,
	} {
		if rels[kind] != n {
			t.Errorf("%d %s relationships, want %d (%v)", rels[kind], kind, n, rels)
		}
	}
	var purl, verification, download, source, creators bool
	for _, p := range d.Packages {
		for _, r := range p.PackageExternalReferences {
			purl = purl || r.Locator == "pkg:golang/golang.org/x/text@v0.3.8"
		}
		if p.PackageName == "server.tar.gz" {
			verification = p.FilesAnalyzed && p.PackageVerificationCode != nil && len(p.PackageVerificationCode.Value) == 40
			download = p.PackageDownloadLocation == "s3://bucket/builds/k/server.tar.gz"
		}
		if p.PrimaryPackagePurpose == "SOURCE" {
			source = p.PackageVersion == commit && p.PackageDownloadLocation == "git+https://git.example.com/org/server.git@"+commit
		}
		if p.PackageName == "github.com/mattermost/server" && p.PackageLicenseDeclared != "NOASSERTION" {
			t.Errorf("a free-text license was asserted as an SPDX expression: %q", p.PackageLicenseDeclared)
		}
	}
	for _, c := range d.CreationInfo.Creators {
		creators = creators || c.Creator == "syft-1.57.1"
	}
	if !purl || !verification || !download || !source || !creators {
		t.Fatalf("purl %v, verification code %v, download location %v, source %v, tool creators %v\n%s", purl, verification, download, source, creators, doc)
	}

	cdoc, err := sbom.Document(in, sbom.CycloneDX)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, cdxSchema, cdoc)
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(cdoc), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != cdx.SpecVersion1_6 || !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") || bom.Metadata.Timestamp != "2023-11-14T22:13:20Z" {
		t.Fatalf("header %+v", bom)
	}
	var nested, material, srcc int
	for _, c := range *bom.Components {
		if c.Components != nil {
			nested += len(*c.Components)
		}
		for _, p := range *c.Properties {
			if p.Name == "mmbuild:role" && p.Value == "material" {
				material++
			}
			if p.Name == "mmbuild:role" && p.Value == "source" {
				srcc++
			}
		}
	}
	if nested != 4 || material != 2 || srcc != 1 || len(*bom.Metadata.Tools.Components) != 3 {
		t.Fatalf("%d nested components, %d materials, %d sources, tools %v\n%s", nested, material, srcc, bom.Metadata.Tools, cdoc)
	}

	for _, f := range []struct{ format, pt string }{{sbom.SPDX, sbom.PredicateSPDX}, {sbom.CycloneDX, sbom.PredicateCycloneDX}} {
		doc, _ := sbom.Document(in, f.format)
		got, err := sbom.Read(f.pt, doc)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Name != "mmctl" || got[1].SHA256 != strings.Repeat("a", 64) {
			t.Fatalf("%s describes %+v", f.format, got)
		}
	}
}

// The same inputs in any order give the same bytes; other inputs, another
// namespace and serial number.
func TestDeterministic(t *testing.T) {
	for _, f := range sbom.Formats {
		a, err := sbom.Document(inputs(), f)
		if err != nil {
			t.Fatal(err)
		}
		in := inputs()
		in.Artifacts[0], in.Artifacts[1] = in.Artifacts[1], in.Artifacts[0]
		c := in.Artifacts[1].Contents
		c.Files[0], c.Files[1] = c.Files[1], c.Files[0]
		in.Materials[0], in.Materials[1] = in.Materials[1], in.Materials[0]
		b, err := sbom.Document(in, f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: not deterministic", f)
		}
		in.Created = created.Add(time.Second)
		c2, _ := sbom.Document(in, f)
		if bytes.Equal(a, c2) {
			t.Fatalf("%s: another creation time gave the same document", f)
		}
	}
}

func TestStatement(t *testing.T) {
	for _, f := range []struct{ format, pt string }{{sbom.SPDX, sbom.PredicateSPDX}, {sbom.CycloneDX, sbom.PredicateCycloneDX}} {
		doc, err := sbom.Document(inputs(), f.format)
		if err != nil {
			t.Fatal(err)
		}
		st, err := sbom.Statement(inputs(), f.format, doc)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Type          string `json:"_type"`
			PredicateType string `json:"predicateType"`
			Subject       []struct {
				Name   string
				Digest map[string]string
			}
			Predicate json.RawMessage
		}
		if err := json.Unmarshal(st, &s); err != nil {
			t.Fatal(err)
		}
		if s.Type != "https://in-toto.io/Statement/v1" || s.PredicateType != f.pt || len(s.Subject) != 2 || s.Subject[1].Digest["sha512"] == "" {
			t.Fatalf("%s statement %+v", f.format, s)
		}
		var compact1, compact2 bytes.Buffer
		_ = json.Compact(&compact1, s.Predicate)
		_ = json.Compact(&compact2, doc)
		if !bytes.Equal(compact1.Bytes(), compact2.Bytes()) {
			t.Fatalf("%s: the predicate is not the document", f.format)
		}
	}
}

func TestRefusals(t *testing.T) {
	for name, mutate := range map[string]func(*sbom.Inputs){
		"no artifacts":            func(in *sbom.Inputs) { in.Artifacts = nil },
		"no name":                 func(in *sbom.Inputs) { in.Name = " " },
		"artifact without sha256": func(in *sbom.Inputs) { in.Artifacts[1].Digest = map[string]string{"sha1": strings.Repeat("1", 40)} },
		"malformed sha512":        func(in *sbom.Inputs) { in.Artifacts[0].Digest["sha512"] = "zz" },
		"artifact twice":          func(in *sbom.Inputs) { in.Artifacts[1].Name = in.Artifacts[0].Name },
		"file without sha1":       func(in *sbom.Inputs) { in.Artifacts[0].Contents.Files[0].SHA1 = "" },
	} {
		for _, f := range sbom.Formats {
			in := inputs()
			mutate(&in)
			if _, err := sbom.Document(in, f); err == nil || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s, %s: %v", name, f, err)
			}
		}
	}
	if _, err := sbom.Read(sbom.PredicateSPDX, []byte(`{"spdxVersion": "SPDX-2.3"}`)); err == nil {
		t.Error("an SPDX document describing nothing was read")
	}
	if _, err := sbom.Read(sbom.PredicateCycloneDX, []byte(`not json`)); err == nil {
		t.Error("garbage read as CycloneDX")
	}
}

// The schemas reject what they should: the validation is not vacuous.
func TestSchemasRefuseBrokenDocuments(t *testing.T) {
	spdxSchema, cdxSchema := schemas(t)
	for _, tc := range []struct {
		s           *jsonschema.Schema
		format, cut string
	}{{spdxSchema, sbom.SPDX, `"spdxVersion": "SPDX-2.3",`}, {cdxSchema, sbom.CycloneDX, `"bomFormat": "CycloneDX",`}} {
		doc, err := sbom.Document(inputs(), tc.format)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, []byte(tc.cut)) {
			t.Fatalf("%s: %s not in the document", tc.format, tc.cut)
		}
		broken := bytes.Replace(doc, []byte(tc.cut), nil, 1)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(broken))
		if err != nil {
			t.Fatal(err)
		}
		if tc.s.Validate(v) == nil {
			t.Fatalf("%s: the schema accepted a document without %s", tc.format, tc.cut)
		}
	}
}

// A material's URI is its download location in both formats unless it
// names a local file; no list of schemes decides it, so a third-party
// storage plugin's URLs are locations too.
func TestMaterialDownloadLocation(t *testing.T) {
	for _, tc := range []struct {
		uri      string
		location bool
	}{
		{"https://example.com/webapp-1.2.tgz", true},
		{"git+ssh://git@example.com/org/repo.git", true},
		{"s3://bucket/key.tgz", true},
		{"oci://registry.example.com/app@sha256:" + strings.Repeat("f", 64), true},
		{"gcs://bucket/object.tgz", true},
		{"azblob://account/container/blob.tgz", true},
		{"file:///srv/materials/greeting.txt", false},
		{"FILE:///srv/materials/greeting.txt", false},
		{"materials/greeting.txt", false},
		{"gcs://", false},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			in := inputs()
			in.Materials = []sbom.Material{{URI: tc.uri, Digest: map[string]string{"sha256": strings.Repeat("d", 64)}}}
			doc, err := sbom.Document(in, sbom.SPDX)
			if err != nil {
				t.Fatal(err)
			}
			d, err := spdxjson.Read(bytes.NewReader(doc))
			if err != nil {
				t.Fatal(err)
			}
			spdxLocation := ""
			for _, p := range d.Packages {
				if strings.HasPrefix(p.PackageComment, "material ") {
					spdxLocation = p.PackageDownloadLocation
				}
			}
			if want := map[bool]string{true: tc.uri, false: "NOASSERTION"}[tc.location]; spdxLocation != want {
				t.Errorf("SPDX download location %q, want %q", spdxLocation, want)
			}
			doc, err = sbom.Document(in, sbom.CycloneDX)
			if err != nil {
				t.Fatal(err)
			}
			var bom cdx.BOM
			if err := json.Unmarshal(doc, &bom); err != nil {
				t.Fatal(err)
			}
			cdxLocation := ""
			for _, c := range *bom.Components {
				if isMaterial(c) && c.ExternalReferences != nil {
					for _, r := range *c.ExternalReferences {
						if r.Type == cdx.ERTypeDistribution {
							cdxLocation = r.URL
						}
					}
				}
			}
			if want := map[bool]string{true: tc.uri, false: ""}[tc.location]; cdxLocation != want {
				t.Errorf("CycloneDX distribution %q, want %q", cdxLocation, want)
			}
		})
	}
}

func isMaterial(c cdx.Component) bool {
	if c.Properties == nil {
		return false
	}
	for _, p := range *c.Properties {
		if p.Name == "mmbuild:role" && p.Value == "material" {
			return true
		}
	}
	return false
}
