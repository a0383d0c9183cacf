package replay

import (
	"strings"
	"testing"

	"github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/common"

	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

func TestCompare(t *testing.T) {
	sha := func(c string) string { return strings.Repeat(c, 64) }
	subject := func(name string, d common.DigestSet) provenance.Resource {
		return provenance.Resource{URI: name, Digest: provenance.Digest(d)}
	}
	tests := []struct {
		name         string
		recorded     []provenance.Resource
		rebuilt      map[string]Artifact
		reproducible bool
		differing    []string
		missing      []string
		paths        map[string]string // kept paths by subject name
	}{
		{name: "match", reproducible: true,
			recorded: []provenance.Resource{subject("app", common.DigestSet{"sha256": sha("a")})},
			rebuilt:  map[string]Artifact{"app": {Digest: digest.Set{"sha256": sha("a")}, Path: "/ws/app"}}},
		{name: "match, case of the hex aside", reproducible: true,
			recorded: []provenance.Resource{subject("app", common.DigestSet{"sha256": strings.ToUpper(sha("a"))})},
			rebuilt:  map[string]Artifact{"app": {Digest: digest.Set{"sha256": sha("a")}}}},
		{name: "differs",
			recorded:  []provenance.Resource{subject("app", common.DigestSet{"sha256": sha("a")}), subject("cli", common.DigestSet{"sha256": sha("c")})},
			rebuilt:   map[string]Artifact{"app": {Digest: digest.Set{"sha256": sha("b")}, Path: "/ws/app"}, "cli": {Digest: digest.Set{"sha256": sha("c")}, Path: "/ws/cli"}},
			differing: []string{"app"}, paths: map[string]string{"app": "/ws/app"}},
		{name: "missing",
			recorded:  []provenance.Resource{subject("app", common.DigestSet{"sha256": sha("a")})},
			rebuilt:   map[string]Artifact{},
			differing: []string{"app"}, missing: []string{"app"}},
		{name: "extra rebuilt artifact ignored", reproducible: true,
			recorded: []provenance.Resource{subject("app", common.DigestSet{"sha256": sha("a")})},
			rebuilt:  map[string]Artifact{"app": {Digest: digest.Set{"sha256": sha("a")}}, "debug.log": {Digest: digest.Set{"sha256": sha("d")}}}},
		{name: "recorded algorithm not computed",
			recorded:  []provenance.Resource{subject("app", common.DigestSet{"sha256": sha("a"), "sha512": strings.Repeat("e", 128)})},
			rebuilt:   map[string]Artifact{"app": {Digest: digest.Set{"sha256": sha("a")}, Path: "/ws/app"}},
			differing: []string{"app"}, paths: map[string]string{"app": "/ws/app"}},
		{name: "sha512 differs, sha256 equal",
			recorded:  []provenance.Resource{subject("app", common.DigestSet{"sha256": sha("a"), "sha512": strings.Repeat("e", 128)})},
			rebuilt:   map[string]Artifact{"app": {Digest: digest.Set{"sha256": sha("a"), "sha512": strings.Repeat("f", 128)}}},
			differing: []string{"app"}},
		{name: "subject without digests",
			recorded:  []provenance.Resource{subject("app", nil)},
			rebuilt:   map[string]Artifact{"app": {Digest: digest.Set{"sha256": sha("a")}}},
			differing: []string{"app"}},
		{name: "nothing recorded is not reproducible",
			rebuilt: map[string]Artifact{"app": {Digest: digest.Set{"sha256": sha("a")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compare(tt.recorded, tt.rebuilt)
			if c.Reproducible != tt.reproducible || strings.Join(c.Differing, ",") != strings.Join(tt.differing, ",") {
				t.Fatalf("reproducible %v, differing %v; want %v, %v", c.Reproducible, c.Differing, tt.reproducible, tt.differing)
			}
			if len(c.Subjects) != len(tt.recorded) {
				t.Fatalf("%d subjects, want %d", len(c.Subjects), len(tt.recorded))
			}
			var missing []string
			for i, s := range c.Subjects {
				if s.Name != tt.recorded[i].URI {
					t.Errorf("subject %d is %s, want %s: the recorded order is kept", i, s.Name, tt.recorded[i].URI)
				}
				if s.Missing {
					missing = append(missing, s.Name)
				}
				if s.Path != tt.paths[s.Name] {
					t.Errorf("subject %s: path %q, want %q", s.Name, s.Path, tt.paths[s.Name])
				}
				if s.Match == contains(tt.differing, s.Name) {
					t.Errorf("subject %s: match %v", s.Name, s.Match)
				}
			}
			if strings.Join(missing, ",") != strings.Join(tt.missing, ",") {
				t.Errorf("missing %v, want %v", missing, tt.missing)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
