package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// validateSBOMSchema validates doc against the official JSON schema named
// (core/evidence/sbom/testdata/schema) with a validator we did not write.
func validateSBOMSchema(t *testing.T, schema string, doc []byte) {
	t.Helper()
	dir := filepath.Join(testenv.Root(), "core", "evidence", "sbom", "testdata", "schema")
	c := jsonschema.NewCompiler()
	for file, url := range map[string]string{
		"spdx-schema-2.3.json": "http://spdx.org/rdf/terms/2.3",
		"bom-1.6.schema.json":  "http://cyclonedx.org/schema/bom-1.6.schema.json",
		"spdx.schema.json":     "http://cyclonedx.org/schema/spdx.schema.json",
		"jsf-0.82.schema.json": "http://cyclonedx.org/schema/jsf-0.82.schema.json",
	} {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(url, v); err != nil {
			t.Fatal(err)
		}
	}
	url := "http://spdx.org/rdf/terms/2.3"
	if schema == "bom-1.6.schema.json" {
		url = "http://cyclonedx.org/schema/bom-1.6.schema.json"
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(v); err != nil {
		t.Fatalf("the SBOM does not validate against %s: %v", schema, err)
	}
}
