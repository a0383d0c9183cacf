package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

// clearPositions zeroes every Pos field, so parsed configs can be compared
// with literals.
func clearPositions(c *Config) {
	c.Handler.Pos = Position{}
	if c.Source != nil {
		c.Source.Pos = Position{}
	}
	for i := range c.Secrets {
		c.Secrets[i].Pos = Position{}
	}
	for i := range c.Env {
		c.Env[i].Pos = Position{}
		if c.Env[i].ValueFrom != nil {
			c.Env[i].ValueFrom.Pos = Position{}
		}
	}
	for i := range c.Replacements {
		c.Replacements[i].Pos = Position{}
		if c.Replacements[i].ValueFrom != nil {
			c.Replacements[i].ValueFrom.Pos = Position{}
		}
	}
	for i := range c.Materials {
		c.Materials[i].Pos = Position{}
	}
	c.Artifacts.Pos = Position{}
	for i := range c.Transfers {
		c.Transfers[i].Pos = Position{}
	}
	if c.Signing != nil {
		c.Signing.Pos = Position{}
	}
	if c.SBOM != nil {
		c.SBOM.Pos = Position{}
	}
	c.positions = nil
	c.handlerKey = ""
}

func TestLoadValid(t *testing.T) {
	path := filepath.Join("testdata", "valid", "mmbuild.yaml")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	pos := func(line, col int) Position { return Position{File: path, Line: line, Col: col} }
	for _, tc := range []struct {
		name      string
		got, want Position
	}{
		{"Handler.Pos", c.Handler.Pos, pos(3, 3)},
		{"Source.Pos", c.Source.Pos, pos(6, 3)},
		{"Env[2].Pos", c.Env[2].Pos, pos(20, 5)},
		{"Env[2].ValueFrom.Pos", c.Env[2].ValueFrom.Pos, pos(21, 16)},
		{"Materials[1].Pos", c.Materials[1].Pos, pos(39, 5)},
		{"Artifacts.Pos", c.Artifacts.Pos, pos(43, 3)},
		{`PositionOf("materials[0].uri")`, c.PositionOf("materials[0].uri"), pos(35, 10)},
		{`PositionOf("handler.params[2]")`, c.PositionOf("handler.params[2]"), pos(4, 35)},
		{`PositionOf("materials[1].digest.sha1")`, c.PositionOf("materials[1].digest.sha1"), pos(41, 13)},
		{"PositionOf of a missing key falls back to its parent", c.PositionOf("transfers[0].nope"), pos(46, 5)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}

	clearPositions(c)
	want := &Config{
		Path:    path,
		Handler: Handler{ID: "make", Params: []string{"compile", "CC=$(CC)", "VERSION=${VERSION}"}},
		Source: &Source{
			Repo:              "https://git.example.com/org/app.git",
			Commit:            "3f2c4a1b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b", // normalized to lower case
			CredentialsSecret: "GIT_TOKEN",
		},
		Secrets: []Secret{
			{Name: "DEPLOY_TOKEN", From: "env://CI_DEPLOY_TOKEN"},
			{Name: "GIT_TOKEN", From: "file:///run/secrets/git"},
			{Name: "SIGNING_KEY", From: "s3://vault/keys/signing.pem"},
		},
		Env: []EnvVar{
			{Var: "GOFLAGS", Value: ptr("-trimpath")},
			{Var: "CI_COMMIT_SHA"},
			{Var: "TOKEN", ValueFrom: &ValueFrom{Secret: "DEPLOY_TOKEN"}},
			{Var: "TAG", ValueFrom: &ValueFrom{Env: "CI_COMMIT_TAG"}, Optional: true},
		},
		Replacements: []Replacement{
			{Paths: []string{"version.go", "cmd/version.go"}, Tag: "%VERSION%", ValueFrom: &ValueFrom{Env: "CI_COMMIT_TAG"}, Required: true, RequiredPaths: true},
			{Paths: []string{"README.md"}, Tag: "%COMMIT%", Value: ptr("${CI_COMMIT_SHA}")},
		},
		Materials: []Material{
			{
				URI:         "s3://artifacts/webapp/${MMBUILD_STAGING_PATH}/webapp.tar.gz",
				Digest:      Digest{"sha256": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"},
				Attestation: "s3://artifacts/webapp/webapp.intoto.jsonl",
				Keys:        []string{"keys/webapp.pub"},
			},
			{URI: "https://example.com/tool.tgz", Digest: Digest{"sha1": "0123456789abcdef0123456789abcdef01234567"}},
		},
		Artifacts:  Artifacts{Destination: "s3://artifacts/server/", Files: []string{"dist/*.tar.gz"}},
		Transfers:  []Transfer{{Source: []string{"dist/mmctl"}, Destination: "s3://releases/mmctl/"}},
		Provenance: "out/",
		SBOM:       &SBOM{},
		Signing:    &Signing{Key: "cosign.key", KeySecret: "SIGNING_KEY"},
	}
	checkSHA256(t, c, path)
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load(%s) =\n%+v\nwant\n%+v", path, c, want)
	}
}

func TestLoadLegacy(t *testing.T) {
	path := filepath.Join("testdata", "legacy", "matterbuild.yaml")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.PositionOf("handler.params[0]"); got != (Position{path, 4, 7}) {
		t.Errorf(`PositionOf("handler.params[0]") = %v, want %s:4:7 (runner is read as handler)`, got, path)
	}
	clearPositions(c)
	want := &Config{
		Path:       path,
		Handler:    Handler{ID: "make", Params: []string{"package"}},
		Provenance: "provenance/",
		Secrets:    []Secret{{Name: "AWS_ACCESS_KEY_ID"}, {Name: "AWS_SECRET_ACCESS_KEY"}},
		Env:        []EnvVar{{Var: "GOOS", Value: ptr("linux")}, {Var: "BUILD_NUMBER"}},
		Replacements: []Replacement{
			{Paths: []string{"server/version.go"}, Tag: "%BUILD_HASH%", ValueFrom: &ValueFrom{Env: "CI_COMMIT_SHA"}, Required: true},
			{Paths: []string{"webapp/.env"}, Tag: "%KEY%", ValueFrom: &ValueFrom{Secret: "AWS_ACCESS_KEY_ID"}},
		},
		Materials: []Material{{URI: "s3://bucket/webapp.tar.gz", Digest: Digest{"sha256": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"}}},
		Artifacts: Artifacts{Destination: "s3://bucket/server/", Files: []string{"dist/mattermost-team-linux-amd64.tar.gz"}},
		Transfers: []Transfer{{Source: []string{"dist/mmctl"}, Destination: "s3://bucket/mmctl/"}},
	}
	checkSHA256(t, c, path)
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load(%s) =\n%+v\nwant\n%+v", path, c, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		file string
		pos  string // line:col
		msg  string // a fragment of the message
	}{
		// YAML itself
		{"syntax.yaml", "3:1", "invalid YAML: mapping values are not allowed in this context"},
		{"control-char.yaml", "3:14", "invalid YAML: control characters are not allowed"},
		{"empty.yaml", "1:1", "empty config file"},
		{"comments-only.yaml", "1:1", "empty config file"},
		{"multidoc.yaml", "4:1", "a second YAML document starts here"},
		{"not-a-mapping.yaml", "1:1", "wrong type at the top level: expected a mapping, got a list"},
		// schema
		{"unknown-key.yaml", "3:3", `unknown key "foo" in handler`},
		{"unknown-top-key.yaml", "3:1", `unknown key "stages" at the top level`},
		{"duplicate-key.yaml", "4:1", `duplicate key "provenance" at the top level (first at line 3)`},
		{"wrong-kind-mapping.yaml", "6:13", "wrong type for materials[1].digest: expected a mapping, got a list"},
		{"wrong-kind-string.yaml", "2:7", "wrong type for handler.id: expected a string, got a list"},
		{"wrong-kind-list.yaml", "4:10", "wrong type for artifacts.files: expected a list, got a mapping"},
		{"bad-bool.yaml", "3:7", `invalid value "abc" for sbom: expected true or false`},
		{"quoted-bool.yaml", "3:7", `invalid value "true" for sbom: expected true or false`},
		{"null-entry.yaml", "3:15", "wrong type for handler.params[1]: expected a string, got null"},
		{"merge-key.yaml", "2:3", "merge keys (<<) are not supported in handler"},
		// handler
		{"missing-handler.yaml", "1:1", `missing required key "handler" at the top level`},
		{"handler-no-id.yaml", "2:3", "handler.id is required"},
		{"runner-no-id.yaml", "2:3", "runner.id is required"},
		{"handler-and-runner.yaml", "3:1", "both handler and runner are set"},
		// source
		{"source-no-repo.yaml", "4:3", "source.repo is required"},
		{"source-commit-and-ref.yaml", "6:8", "source.commit and source.ref are both set; use one"},
		{"source-bad-commit.yaml", "5:11", `invalid source.commit "abc123": want a full commit hash (40 or 64 hexadecimal digits)`},
		{"source-undeclared-secret.yaml", "5:22", `undeclared secret "NOPE" in source.credentialsSecret`},
		// materials
		{"material-no-uri.yaml", "5:5", "materials[1].uri is required"},
		{"digest-bad-algorithm.yaml", "6:7", `unknown digest algorithm "md5" in materials[0].digest (want sha1, sha256 or sha512)`},
		{"digest-bad-hex.yaml", "6:15", `invalid sha256 digest "0123456789abcdef" in materials[0].digest.sha256: want 64 hexadecimal digits`},
		{"digest-empty.yaml", "5:13", "materials[0].digest is empty"},
		// env
		{"env-bad-name.yaml", "4:10", `invalid variable name "1BAD" in env[0].var`},
		{"env-no-name.yaml", "4:5", "env[0].var is required"},
		{"env-duplicate.yaml", "6:10", `duplicate variable "A" in env[2].var (first declared in env[0])`},
		{"env-value-and-valuefrom.yaml", "6:16", "env[0] sets both value and valueFrom; use one"},
		{"valuefrom-empty.yaml", "5:16", "env[0].valueFrom needs one of secret or env"},
		{"valuefrom-both.yaml", "7:16", "env[0].valueFrom sets both secret and env; use one"},
		{"valuefrom-undeclared-secret.yaml", "6:15", `undeclared secret "NOPE" in env[0].valueFrom.secret`},
		// secrets
		{"secret-duplicate.yaml", "5:11", `duplicate secret "S" in secrets[1].name (first declared in secrets[0])`},
		{"secret-bad-name.yaml", "4:11", `invalid secret name "my secret" in secrets[0].name`},
		{"secret-bad-from.yaml", "5:11", `invalid secrets[0].from "/run/secrets/s": want a URL`},
		// replacements
		{"replacement-no-tag.yaml", "4:5", "replacements[0].tag is required"},
		{"replacement-no-paths.yaml", "4:5", "replacements[0].paths needs at least one path"},
		{"replacement-no-value.yaml", "4:5", "replacements[0] needs value or valueFrom"},
		{"replacement-value-and-valuefrom.yaml", "7:16", "replacements[0] sets both value and valueFrom; use one"},
		// artifacts and transfers
		{"artifacts-empty-file.yaml", "4:14", "artifacts.files[1] is empty"},
		{"artifacts-images.yaml", "6:7", `artifacts.images[0] "mattermost/server:latest" names no registry host: write HOST/REPO:TAG (docker.io/mattermost/server:latest for Docker Hub)`},
		{"artifacts-image-credentials.yaml", "6:7", "artifacts.images[0] carries a user name or password (user@host)"},
		{"artifacts-image-no-tag.yaml", "6:7", `artifacts.images[0] "oci://registry.example/app" names no tag nor digest`},
		{"artifacts-image-twice.yaml", "7:7", "artifacts.images[1] repeats artifacts.images[0]"},
		{"transfer-no-source.yaml", "4:5", "transfers[0].source needs at least one file"},
		{"transfer-no-destination.yaml", "4:5", "transfers[0].destination is required"},
		// paths relative to the work tree
		{"provenance-dotdot.yaml", "3:13", `provenance "../out/" leaves the work tree (..)`},
		{"artifacts-absolute.yaml", "4:23", `artifacts.files[1] "/etc/passwd" is absolute: paths are relative to the work tree`},
		{"transfer-source-dotdot.yaml", "4:14", `transfers[0].source[0] "dist/../../x" leaves the work tree (..)`},
		// ${VAR} syntax and secrets, checked without an environment
		{"unterminated-var.yaml", "4:10", `unterminated "${" in materials[0].uri`},
		{"invalid-var-name.yaml", "3:13", `invalid variable name "1X" in provenance`},
		{"secret-reference.yaml", "9:10", `variable "TOKEN" in materials[0].uri is a secret (env[0] takes it from secret "S")`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "errors", tc.file)
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, want an error", path, c)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Load(%s) error %v (%T) is not an *Error", path, err, err)
			}
			wantPrefix := path + ":" + tc.pos + ": "
			if got := err.Error(); !strings.HasPrefix(got, wantPrefix) || !strings.Contains(got, tc.msg) {
				t.Errorf("Load(%s) error\n got %s\nwant %s…%s…", path, got, wantPrefix, tc.msg)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error spans lines: %q", err.Error())
			}
		})
	}
}

// TestErrorFixturesCovered makes sure every broken fixture has a case.
func TestErrorFixturesCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "errors", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, f := range files {
		if _, err := Load(f); err == nil {
			t.Errorf("Load(%s) succeeded; every file in testdata/errors must fail", f)
		}
	}
}

func TestParseDetails(t *testing.T) {
	t.Run("aliases are followed", func(t *testing.T) {
		c, err := Parse("a.yaml", []byte("handler: {id: make, params: &p [x, y]}\ntransfers:\n  - source: *p\n    destination: d\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Transfers[0].Source; !reflect.DeepEqual(got, []string{"x", "y"}) {
			t.Errorf("Transfers[0].Source = %q", got)
		}
	})
	t.Run("scalars are kept as written", func(t *testing.T) {
		c, err := Parse("a.yaml", []byte("handler: {id: make, params: [1.10, 007, true, 0x1F]}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Handler.Params; !reflect.DeepEqual(got, []string{"1.10", "007", "true", "0x1F"}) {
			t.Errorf("Params = %q", got)
		}
	})
	t.Run("null means not set", func(t *testing.T) {
		c, err := Parse("a.yaml", []byte("handler: {id: make}\nsource:\nenv:\n  - var: A\n    value:\n"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Source != nil || c.Env[0].Value != nil {
			t.Errorf("Source = %v, Env[0].Value = %v; want nil, nil", c.Source, c.Env[0].Value)
		}
	})
	t.Run("an empty string value is set", func(t *testing.T) {
		c, err := Parse("a.yaml", []byte("handler: {id: make}\nenv:\n  - var: A\n    value: \"\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Env[0].Value == nil || *c.Env[0].Value != "" {
			t.Errorf("Env[0].Value = %v, want pointer to empty string", c.Env[0].Value)
		}
	})
	t.Run("a quoted key with a newline stays on one line", func(t *testing.T) {
		_, err := Parse("a.yaml", []byte("handler: {id: make, \"a\\nb\": 1}\n"))
		if err == nil || strings.ContainsAny(err.Error(), "\n\r") || !strings.Contains(err.Error(), `unknown key "a\nb"`) {
			t.Errorf("err = %q", err)
		}
	})
	t.Run("commit may be a variable", func(t *testing.T) {
		if _, err := Parse("a.yaml", []byte("handler: {id: make}\nsource: {repo: r, commit: \"${SHA}\"}\n")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPositionString(t *testing.T) {
	for _, tc := range []struct {
		p    Position
		want string
	}{
		{Position{"mmbuild.yaml", 3, 5}, "mmbuild.yaml:3:5"},
		{Position{"mmbuild.yaml", 3, 0}, "mmbuild.yaml:3:1"},
		{Position{"mmbuild.yaml", 0, 0}, "mmbuild.yaml"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
	e := &Error{Pos: Position{"mmbuild.yaml", 3, 5}, Msg: `unknown key "foo" in handler`}
	if got, want := e.Error(), `mmbuild.yaml:3:5: unknown key "foo" in handler`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e.Msg = "two\nlines"
	if got := e.Error(); strings.Contains(got, "\n") {
		t.Errorf("Error() = %q spans lines", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "mmbuild.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestFind(t *testing.T) {
	write := func(t *testing.T, dir, name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("handler: {id: make}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("mmbuild.yaml first", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, LegacyFileName)
		write(t, dir, FileName)
		if got, err := Find(dir); err != nil || got != filepath.Join(dir, FileName) {
			t.Errorf("Find = %q, %v", got, err)
		}
	})
	t.Run("matterbuild.yaml", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, LegacyFileName)
		if got, err := Find(dir); err != nil || got != filepath.Join(dir, LegacyFileName) {
			t.Errorf("Find = %q, %v", got, err)
		}
	})
	t.Run("neither", func(t *testing.T) {
		_, err := Find(t.TempDir())
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), FileName) || !strings.Contains(err.Error(), LegacyFileName) {
			t.Errorf("Find = %v, want fs.ErrNotExist naming both files", err)
		}
	})
	t.Run("a directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, FileName), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Find(dir); err == nil {
			t.Error("Find of a directory named mmbuild.yaml succeeded")
		}
	})
}

func TestValidate(t *testing.T) {
	c := &Config{Handler: Handler{ID: "make"}, Materials: []Material{{URI: "x", Digest: Digest{"sha1": "ABC"}}}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "invalid sha1 digest") {
		t.Errorf("Validate = %v", err)
	}
}

// checkSHA256 checks that c records the sha256 of the file it was parsed
// from (what the staging key covers), then clears it for comparing.
func checkSHA256(t *testing.T, c *Config, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); c.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("Load(%s).SHA256 = %q, want the file's sha256", path, c.SHA256)
	}
	c.SHA256 = ""
}
