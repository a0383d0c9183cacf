package project

import (
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// A reference without a scheme is served by the one pinned plugin that
// announces storage:images, through the scheme it serves; none, or more
// than one, is an error naming what was found.
func TestImages(t *testing.T) {
	images := "capability=" + storage.CapabilityImages
	for _, tc := range []struct {
		name         string
		locked       []fake
		unpinned     []fake
		plugin, want string // want: the scheme, or an error's text
	}{
		{"one", []fake{{name: "reg", kinds: []string{"storage:oci", images}}, {name: "web", kinds: []string{"storage:https"}}}, nil, "reg", "oci"},
		{"none", []fake{{name: "web", kinds: []string{"storage:https"}}}, nil, "", "no pinned plugin announces storage:images"},
		{"only unpinned", []fake{{name: "web", kinds: []string{"storage:https"}}}, []fake{{name: "reg", kinds: []string{"storage:oci", images}}}, "", "no pinned plugin announces storage:images"},
		{"two", []fake{{name: "a", kinds: []string{"storage:oci", images}}, {name: "b", kinds: []string{"storage:docker", images}}}, nil, "", `plugins "a", "b" all announce storage:images`},
		{"two schemes", []fake{{name: "a", kinds: []string{"storage:oci", "storage:docker", images}}}, nil, "", "serves 2 URL schemes (docker, oci)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := resolverProject(t, lockKinds, tc.locked, tc.unpinned)
			name, scheme, err := p.Images()
			if tc.plugin != "" {
				if err != nil || name != tc.plugin || scheme != tc.want {
					t.Fatalf("Images() = %q, %q, %v; want %q, %q", name, scheme, err, tc.plugin, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Images() = %q, %q, %v; want an error with %q", name, scheme, err, tc.want)
			}
		})
	}
}
