package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestSBOMForms(t *testing.T) {
	const head = "handler: {id: make}\nartifacts: {files: [a]}\n"
	tests := []struct {
		yaml string
		want *SBOM
		err  string
	}{
		{yaml: "sbom: true\n", want: &SBOM{}},
		{yaml: "sbom: false\n"},
		{yaml: "sbom: {generator: syft, formats: [spdx, cyclonedx], options: {catalogers: go}, maxEntries: 1000}\n",
			want: &SBOM{Generator: "syft", Formats: []string{"spdx", "cyclonedx"}, Options: Options{"catalogers": "go"}, MaxEntries: 1000}},
		{yaml: "sbom: {formats: [swid]}\n", err: `3:7: invalid value "swid" for sbom.formats[0]: expected spdx or cyclonedx`},
		{yaml: "sbom: {maxEntries: -3}\n", err: `invalid value "-3" for sbom.maxEntries: expected a positive whole number`},
		{yaml: "sbom: {generater: syft}\n", err: `generater`},
		{yaml: "sbom: maybe\n", err: `invalid value "maybe" for sbom: expected true or false`},
	}
	for _, tt := range tests {
		c, err := Parse("mmbuild.yaml", []byte(head+tt.yaml))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: %v, want %q", tt.yaml, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		if c.SBOM != nil {
			c.SBOM.Pos = Position{}
		}
		if !reflect.DeepEqual(c.SBOM, tt.want) {
			t.Errorf("%q: %+v, want %+v", tt.yaml, c.SBOM, tt.want)
		}
	}
}
