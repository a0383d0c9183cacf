package sbom_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spdx/tools-golang/spdx"

	"github.com/mmbuild/mmbuild/core/evidence/sbom"
)

var created = time.Unix(1700000000, 0)

func artifacts() []sbom.File {
	return []sbom.File{
		{Name: "mmctl", Digest: map[string]string{"sha256": strings.Repeat("b", 64)}, Size: 7},
		{Name: "server.tar.gz", Digest: map[string]string{"sha256": strings.Repeat("a", 64), "sha512": strings.Repeat("c", 128)}, Size: 1 << 20},
	}
}

func TestDocumentRoundTrip(t *testing.T) {
	data, err := sbom.Document("server", artifacts(), created)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := sbom.Parse(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if spdx.Version != "SPDX-2.3" || doc.SPDXVersion != spdx.Version || doc.DataLicense != "CC0-1.0" || doc.DocumentName != "server" {
		t.Fatalf("header: %+v", doc)
	}
	if doc.CreationInfo.Created != "2023-11-14T22:13:20Z" {
		t.Fatalf("created %s", doc.CreationInfo.Created)
	}
	if !strings.HasPrefix(doc.DocumentNamespace, sbom.NamespacePrefix+"server-") {
		t.Fatalf("namespace %s", doc.DocumentNamespace)
	}
	if len(doc.Packages) != 2 {
		t.Fatalf("%d packages", len(doc.Packages))
	}
	p := doc.Packages[1]
	if p.PackageName != "server.tar.gz" || p.PackageFileName != "server.tar.gz" || p.PrimaryPackagePurpose != "ARCHIVE" || p.FilesAnalyzed {
		t.Fatalf("package %+v", p)
	}
	if len(p.PackageChecksums) != 2 || p.PackageChecksums[0].Algorithm != spdx.SHA256 || p.PackageChecksums[0].Value != strings.Repeat("a", 64) ||
		p.PackageChecksums[1].Algorithm != spdx.SHA512 {
		t.Fatalf("checksums %+v", p.PackageChecksums)
	}
	describes := 0
	for _, r := range doc.Relationships {
		if r.Relationship == "DESCRIBES" && r.RefA.ElementRefID == "DOCUMENT" {
			describes++
		}
	}
	if describes != 2 {
		t.Fatalf("%d DESCRIBES relationships", describes)
	}
	// The JSON is what SPDX tools expect: SPDXRef- ids, documentDescribes
	// expressed as relationships.
	if !bytes.Contains(data, []byte(`"SPDXID": "SPDXRef-DOCUMENT"`)) || !bytes.Contains(data, []byte(`"SPDXRef-Artifact-server.tar.gz"`)) {
		t.Fatalf("ids:\n%s", data)
	}
}

func TestDeterministic(t *testing.T) {
	a, err := sbom.Document("server", artifacts(), created)
	if err != nil {
		t.Fatal(err)
	}
	// Same inputs in another order, another time zone, sub-second noise.
	rev := artifacts()
	rev[0], rev[1] = rev[1], rev[0]
	b, err := sbom.Document("server", rev, created.In(time.FixedZone("X", 3600)).Add(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("not deterministic:\n%s\n%s", a, b)
	}
	sa, _ := sbom.Statement("server", artifacts(), created)
	sb, _ := sbom.Statement("server", rev, created)
	if !bytes.Equal(sa, sb) {
		t.Fatal("statement not deterministic")
	}
	// Any other input gives another namespace.
	ns := func(data []byte) string {
		doc, err := sbom.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		return doc.DocumentNamespace
	}
	changed := artifacts()
	changed[0].Digest = map[string]string{"sha256": strings.Repeat("d", 64)}
	c, _ := sbom.Document("server", changed, created)
	d, _ := sbom.Document("server", artifacts(), created.Add(time.Second))
	e, _ := sbom.Document("server2", artifacts(), created)
	seen := map[string]bool{ns(a): true}
	for _, x := range [][]byte{c, d, e} {
		if seen[ns(x)] {
			t.Fatalf("namespace %s reused for other inputs", ns(x))
		}
		seen[ns(x)] = true
	}
}

func TestStatement(t *testing.T) {
	data, err := sbom.Statement("server", artifacts(), created)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate json.RawMessage `json:"predicate"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Type != "https://in-toto.io/Statement/v0.1" || st.PredicateType != "https://spdx.dev/Document" || len(st.Subject) != 2 ||
		st.Subject[0].Name != "mmctl" || st.Subject[1].Digest["sha512"] != strings.Repeat("c", 128) {
		t.Fatalf("statement: %s", data)
	}
	if _, err := sbom.Parse(st.Predicate); err != nil {
		t.Fatalf("predicate does not parse as SPDX: %v", err)
	}
}

func TestRefusedInputs(t *testing.T) {
	dup := append(artifacts(), artifacts()[0])
	noSHA := []sbom.File{{Name: "x", Digest: map[string]string{"sha512": strings.Repeat("c", 128)}}}
	badHex := []sbom.File{{Name: "x", Digest: map[string]string{"sha256": "zz"}}}
	noName := []sbom.File{{Digest: map[string]string{"sha256": strings.Repeat("a", 64)}}}
	for name, in := range map[string][]sbom.File{"none": nil, "duplicate": dup, "no sha256": noSHA, "bad hex": badHex, "no name": noName} {
		if _, err := sbom.Document("server", in, created); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := sbom.Document(" ", artifacts(), created); err == nil {
		t.Error("empty name accepted")
	}
	if _, err := sbom.Parse([]byte(`{"spdxVersion":"SPDX-9"}`)); err == nil {
		t.Error("unknown SPDX version parsed")
	}
}

func TestElementIDsAreUniqueAndValid(t *testing.T) {
	in := []sbom.File{
		{Name: "a b", Digest: map[string]string{"sha256": strings.Repeat("a", 64)}},
		{Name: "a_b", Digest: map[string]string{"sha256": strings.Repeat("b", 64)}},
		{Name: "ü", Digest: map[string]string{"sha256": strings.Repeat("c", 64)}},
	}
	data, err := sbom.Document("odd names", in, created)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := sbom.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range doc.Packages {
		id := string(p.PackageSPDXIdentifier)
		if seen[id] || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != "" {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}
