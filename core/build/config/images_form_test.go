package config

import (
	"slices"
	"strings"
	"testing"
)

// artifacts.images takes a reference, or {ref, layout} when mmbuild pushes
// a layout the builder wrote; the layout stays in the work tree.
func TestImageEntryForms(t *testing.T) {
	const head = "handler: {id: make}\nartifacts:\n  images:\n"
	c, err := Parse("mmbuild.yaml", []byte(head+"    - oci://r.example/a:v1\n    - {ref: oci://r.example/b:v1, layout: dist/image}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Expand(func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Artifacts.Images, []string{"oci://r.example/a:v1", "oci://r.example/b:v1"}) || !slices.Equal(c.Artifacts.ImageLayouts, []string{"", "dist/image"}) {
		t.Fatalf("images %v layouts %v", c.Artifacts.Images, c.Artifacts.ImageLayouts)
	}
	for yaml, want := range map[string]string{
		"    - {ref: oci://r.example/b:v1}\n":                    "missing layout",
		"    - {layout: dist/image}\n":                           "missing ref",
		"    - {ref: oci://r.example/b:v1, layout: ../x}\n":      "artifacts.images[0].layout",
		"    - {ref: oci://r.example/b:v1, layout: d, tag: x}\n": "tag",
		"    - {ref: r.example/b:v1, layout: dist/image}\n":      "",
		"    - org/app:v1\n":                                     `"org/app:v1" names no registry host`,
		"    - r.example:5000/org/app:v1\n":                      "",
		"    - bot:pw@r.example/app:v1\n":                        "carries a user name or password",
		"    - r.example/app\n":                                  "names no tag nor digest",
	} {
		c, err := Parse("mmbuild.yaml", []byte(head+yaml))
		if err == nil {
			err = c.Expand(func(string) (string, bool) { return "", false })
		}
		if err == nil {
			err = c.Validate()
		}
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v, want it accepted (a reference without a scheme)", yaml, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", yaml, err, want)
		}
	}
}
