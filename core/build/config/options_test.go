package config

import (
	"os"
	"strings"
	"testing"
)

const optionsBase = `handler:
  id: make
  options: {jobs: 4, file: build.mk}
secrets:
  - name: TOKEN
  - name: USER
materials:
  - uri: https://h/a
    options: {timeout: 30s}
artifacts:
  files: [x]
  destination: s3://b/
  options: {storage_class: STANDARD}
transfers:
  - source: [x]
    destination: s3://rel/
    options: {acl: private}
credentials:
  - url: https://h/
    secrets: {username: USER, password: TOKEN}
    options: {realm: x}
`

func TestOptionsAreReadWithPositions(t *testing.T) {
	c, err := Parse("mmbuild.yaml", []byte(optionsBase))
	if err != nil {
		t.Fatal(err)
	}
	if c.Handler.Options["jobs"] != "4" || c.Handler.Options["file"] != "build.mk" {
		t.Fatalf("handler options %v", c.Handler.Options)
	}
	if c.Materials[0].Options["timeout"] != "30s" || c.Artifacts.Options["storage_class"] != "STANDARD" || c.Transfers[0].Options["acl"] != "private" {
		t.Fatal("material, artifacts or transfer options not read")
	}
	cr := c.Credentials[0]
	if got := cr.SecretOptions(); got["username"] != "USER" || got["password"] != "TOKEN" || cr.Options["realm"] != "x" {
		t.Fatalf("credential %+v", cr)
	}
	if pos := c.PositionOf("handler.options.jobs").String(); pos != "mmbuild.yaml:3:19" {
		t.Fatalf("position %s", pos)
	}
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"nested value", "options: {jobs: 4, file: build.mk}", "options: {jobs: [4]}", "3:19: wrong type for handler.options.jobs: expected a string, got a list"},
		{"not a mapping", "options: {jobs: 4, file: build.mk}", "options: [jobs]", "wrong type for handler.options: expected a mapping"},
		{"bad name", "options: {timeout: 30s}", `options: {"a b": 1}`, `invalid name "a b" in materials[0].options`},
		{"undeclared secret", "secrets: {username: USER, password: TOKEN}", "secrets: {username: NOPE}", `undeclared secret "NOPE" in credentials[0].secrets.username`},
		{"no secret at all", "secrets: {username: USER, password: TOKEN}", "header: X-Key", "credentials[0] needs secret"},
		{"option filled twice", "options: {realm: x}", "options: {username: x}", "credentials[0].options.username is also filled from a secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(optionsBase, tt.from, tt.to, 1)
			if src == optionsBase {
				t.Fatal("edit did not apply")
			}
			_, err := Parse("mmbuild.yaml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestOptionsAreExpanded(t *testing.T) {
	c, err := Parse("mmbuild.yaml", []byte(strings.Replace(optionsBase, "{timeout: 30s}", "{timeout: \"${T}\", literal: \"$$x\"}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Expand(func(k string) (string, bool) { return map[string]string{"T": "1m"}[k], k == "T" }); err != nil {
		t.Fatal(err)
	}
	if got := c.Materials[0].Options; got["timeout"] != "1m" || got["literal"] != "$x" {
		t.Fatalf("options %v", got)
	}
	c, _ = Parse("mmbuild.yaml", []byte(strings.Replace(optionsBase, "{timeout: 30s}", "{timeout: \"${NOPE}\"}", 1)))
	if err := c.Expand(func(string) (string, bool) { return "", false }); err == nil || !strings.Contains(err.Error(), "materials[0].options.timeout") {
		t.Fatalf("undefined variable in an option: %v", err)
	}
}

// A user name alone in a URL is often a token: refused wherever a URL is
// given, and never repeated in the message.
func TestUserinfoInURLsRefused(t *testing.T) {
	tests := []struct{ yaml, path string }{
		{"materials:\n  - uri: https://TOKEN1234@h/a\n", "materials[0].uri"},
		{"materials:\n  - uri: file:///a\n    attestation: https://u:TOKEN1234@h/a\n", "materials[0].attestation"},
		{"transfers:\n  - source: [x]\n    destination: git+http://TOKEN1234@h/r\n", "transfers[0].destination"},
		{"secrets:\n  - name: S\n    from: https://TOKEN1234@h/s\n", "secrets[0].from"},
		{"credentials:\n  - url: https://TOKEN1234@h/\n    secret: S\nsecrets: [{name: S}]\n", "credentials[0].url"},
		{"source:\n  repo: https://TOKEN1234@git.example.com/app.git\n", "source.repo"},
	}
	for _, tt := range tests {
		c, err := Parse("mmbuild.yaml", []byte("handler: {id: make}\nartifacts: {files: [x]}\n"+tt.yaml))
		if err == nil {
			err = c.Expand(func(string) (string, bool) { return "", false })
		}
		if err == nil || !strings.Contains(err.Error(), tt.path+" carries a user name or password") || strings.Contains(err.Error(), "TOKEN1234") {
			t.Errorf("%s: %v", tt.path, err)
		}
	}
}

func TestMaterialMaxSize(t *testing.T) {
	tests := []struct {
		size string
		want int64
		err  string
	}{
		{"1024", 1024, ""}, {"500MiB", 500 << 20, ""}, {"2GB", 2e9, ""}, {"1 KiB", 1024, ""},
		{"0", 0, "invalid size"}, {"-1", 0, "invalid size"}, {"lots", 0, "invalid size"}, {"9999999TiB", 0, "invalid size"},
	}
	for _, tt := range tests {
		c, err := Parse("mmbuild.yaml", []byte("handler: {id: make}\nartifacts: {files: [x]}\nmaterials:\n  - uri: file:///a\n    maxSize: "+tt.size+"\n"))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "mmbuild.yaml:5:") {
				t.Errorf("%s: %v", tt.size, err)
			}
			continue
		}
		if err != nil || c.Materials[0].Limit() != tt.want {
			t.Errorf("%s: %v, limit %d, want %d", tt.size, err, c.Materials[0].Limit(), tt.want)
		}
	}
	c, _ := Parse("mmbuild.yaml", []byte("handler: {id: make}\nartifacts: {files: [x]}\nmaterials:\n  - uri: file:///a\n"))
	if c.Materials[0].Limit() != DefaultMaxMaterialSize {
		t.Errorf("default limit %d", c.Materials[0].Limit())
	}
}

func TestConfigSizeLimit(t *testing.T) {
	path := t.TempDir() + "/mmbuild.yaml"
	big := "handler: {id: make}\nartifacts: {files: [x]}\n# " + strings.Repeat("x", MaxSize) + "\n"
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "larger than 1024 KiB") {
		t.Fatalf("err = %v", err)
	}
}

// validate refuses what run would refuse later, with a position.
func TestValidateKnowsWhatRunKnows(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"handler: {id: ../../x}\nartifacts: {files: [x]}\n", `mmbuild.yaml:1:15: invalid handler.id "../../x"`},
		{"handler: {id: Make}\nartifacts: {files: [x]}\n", `invalid handler.id "Make"`},
		{"handler: {id: make}\nartifacts: {files: [x]}\ntransfers:\n  - source: [x]\n    destination: file:///srv/../etc/\n", "mmbuild.yaml:5:18: transfers[0].destination has a .. segment"},
		{"handler: {id: make}\nartifacts: {files: [x]}\nmaterials:\n  - uri: s3://b/a/../../k\n", "materials[0].uri has a .. segment"},
	}
	for _, tt := range tests {
		c, err := Parse("mmbuild.yaml", []byte(tt.yaml))
		if err == nil {
			err = c.Expand(func(string) (string, bool) { return "", false })
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.yaml, err, tt.want)
		}
	}
}

func TestInvalidGlobRefused(t *testing.T) {
	c, err := Parse("mmbuild.yaml", []byte("handler: {id: make}\nartifacts: {files: [\"dist/[x\"]}\n"))
	if err == nil {
		err = c.Expand(func(string) (string, bool) { return "", false })
	}
	if err == nil || !strings.Contains(err.Error(), `mmbuild.yaml:2:21: artifacts.files[0] "dist/[x" is not a valid glob`) {
		t.Fatalf("err = %v", err)
	}
}
