package stagingkey

import (
	"strings"
	"testing"
)

// The vectors pin the documented formula: changing it changes every key and
// so every cache. Recompute one by hand with:
//
//	printf 'mmbuild-staging-key/v2\nsource git:…\n…' | sha256sum | cut -c1-32
func TestVectors(t *testing.T) {
	base := Inputs{
		Source:       "git:3f2c1b0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
		ConfigSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		HandlerID:    "make",
		Params:       []string{"compile"},
		PluginSHA256: "sha256:0000000000000000000000000000000000000000000000000000000000000001",
		Materials: []Material{
			{URI: "s3://b/z.tar.gz", Digest: map[string]string{"sha256": "aa", "sha1": "BB"}},
			{URI: "file:///a", Digest: map[string]string{"sha256": "cc"}},
		},
	}
	base.Env = [][2]string{{"VERSION", "1.2"}, {"CC", "cc"}}
	wantText := "mmbuild-staging-key/v2\n" +
		"source git:3f2c1b0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b\n" +
		"config sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n" +
		"handler \"make\"\n" +
		"param \"compile\"\n" +
		"plugin sha256:0000000000000000000000000000000000000000000000000000000000000001\n" +
		"material \"file:///a\" sha256:cc\n" +
		"material \"s3://b/z.tar.gz\" sha1:bb sha256:aa\n" +
		"env \"CC\" \"cc\"\n" +
		"env \"VERSION\" \"1.2\"\n"
	if got := Text(base); got != wantText {
		t.Fatalf("text:\n%s\nwant:\n%s", got, wantText)
	}
	tests := []struct {
		name string
		edit func(*Inputs)
		want string
	}{
		{"base", func(*Inputs) {}, "41ca308fc45027e61bb7cab81d9e3cc6"},
		{"material changed", func(in *Inputs) { in.Materials[1].Digest = map[string]string{"sha256": "cd"} }, ""},
		{"param added", func(in *Inputs) { in.Params = append(in.Params, "V=1") }, ""},
		{"plugin changed", func(in *Inputs) { in.PluginSHA256 = "sha256:02" }, ""},
		{"env changed", func(in *Inputs) { in.Env = [][2]string{{"VERSION", "1.3"}, {"CC", "cc"}} }, ""},
	}
	baseKey := Key(base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.Materials = []Material{{base.Materials[0].URI, base.Materials[0].Digest}, {base.Materials[1].URI, base.Materials[1].Digest}}
			in.Params = append([]string(nil), base.Params...)
			in.Env = append([][2]string(nil), base.Env...)
			tt.edit(&in)
			got := Key(in)
			if len(got) != 32 {
				t.Fatalf("key %q is not 32 hex digits", got)
			}
			if tt.want != "" && got != tt.want {
				t.Fatalf("key = %s, want %s", got, tt.want)
			}
			if tt.want == "" && got == baseKey {
				t.Fatalf("%s did not change the key", tt.name)
			}
		})
	}
	if !Cacheable(base) || Cacheable(Inputs{Source: "unversioned:x"}) {
		t.Fatal("Cacheable")
	}
}

// Handler options are inputs: a key with none is the key of v2 before
// options existed; any option changes it.
func TestOptionsChangeTheKey(t *testing.T) {
	in := Inputs{Source: "git:abc", ConfigSHA256: "00", HandlerID: "make", PluginSHA256: "sha256:01"}
	base := Key(in)
	in.Options = map[string]string{}
	if Key(in) != base {
		t.Fatal("empty options changed the key")
	}
	in.Options = map[string]string{"jobs": "4"}
	withJobs := Key(in)
	if withJobs == base || !strings.Contains(Text(in), "option \"jobs\" \"4\"\n") {
		t.Fatalf("options not in the key: %s", Text(in))
	}
	in.Options = map[string]string{"jobs": "8"}
	if Key(in) == withJobs {
		t.Fatal("a changed option value kept the key")
	}
}
