package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// env returns a lookup function over a map, standing for the running
// environment.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func mustParse(t *testing.T, yaml string) *Config {
	t.Helper()
	c, err := Parse("mmbuild.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExpand(t *testing.T) {
	for _, tc := range []struct {
		name    string
		yaml    string
		environ map[string]string
		want    string // the expanded provenance
	}{
		{
			name:    "declared value",
			yaml:    "env:\n  - var: OUT\n    value: out-${HOME}\nprovenance: ${OUT}/att\n",
			environ: map[string]string{"HOME": "/home/ci", "OUT": "ignored: declared entries come first"},
			want:    "out-/home/ci/att",
		},
		{
			name:    "a declared value is expanded from the running environment only",
			yaml:    "env:\n  - var: A\n    value: a-${B}\n  - var: B\n    value: declared\nprovenance: ${A}\n",
			environ: map[string]string{"B": "running"},
			want:    "a-running",
		},
		{
			name:    "passthrough",
			yaml:    "env:\n  - var: CI_JOB\nprovenance: job-${CI_JOB}\n",
			environ: map[string]string{"CI_JOB": "42"},
			want:    "job-42",
		},
		{
			name:    "valueFrom env",
			yaml:    "env:\n  - var: TAG\n    valueFrom: {env: CI_COMMIT_TAG}\nprovenance: ${TAG}\n",
			environ: map[string]string{"CI_COMMIT_TAG": "v1.2.3", "TAG": "ignored"},
			want:    "v1.2.3",
		},
		{
			name: "optional and unset",
			yaml: "env:\n  - var: MAYBE\n    optional: true\nprovenance: x${MAYBE}y\n",
			want: "xy",
		},
		{
			name:    "running environment",
			yaml:    "provenance: ${MMBUILD_STAGING_PATH}/out\n",
			environ: map[string]string{"MMBUILD_STAGING_PATH": "a/b"},
			want:    "a/b/out",
		},
		{
			name:    "$$ is a literal $",
			yaml:    "provenance: a$$b-$${X}-$$$$\n",
			environ: map[string]string{"X": "not used"},
			want:    "a$b-${X}-$$",
		},
		{
			name: "a lone $ stays",
			yaml: "provenance: $(CC) $HOME cost$\n",
			want: "$(CC) $HOME cost$",
		},
		{
			name:    "several in one string",
			yaml:    "provenance: ${A}${B}/${A}\n",
			environ: map[string]string{"A": "1", "B": "2"},
			want:    "12/1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, "handler: {id: make}\n"+tc.yaml)
			if err := c.Expand(env(tc.environ)); err != nil {
				t.Fatal(err)
			}
			if c.Provenance != tc.want {
				t.Errorf("provenance = %q, want %q", c.Provenance, tc.want)
			}
		})
	}
}

func TestExpandFields(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "valid", "mmbuild.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Expand(env(map[string]string{
		"VERSION":              "1.2.3",
		"CI_COMMIT_SHA":        "abc",
		"MMBUILD_STAGING_PATH": "pipelines/7",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Handler.Params, []string{"compile", "CC=$(CC)", "VERSION=1.2.3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("handler.params = %q, want %q ($(CC) must survive)", got, want)
	}
	if got, want := c.Materials[0].URI, "s3://artifacts/webapp/pipelines/7/webapp.tar.gz"; got != want {
		t.Errorf("materials[0].uri = %q, want %q", got, want)
	}
	if got, want := *c.Replacements[1].Value, "abc"; got != want {
		t.Errorf("replacements[1].value = %q, want %q", got, want)
	}
}

func TestExpandAllTargets(t *testing.T) {
	c := mustParse(t, `runner: {id: make, params: ["${V}"]}
source: {repo: "${V}", ref: "${V}"}
secrets: [{name: S, from: "file:///${V}"}]
env: [{var: E, value: "${V}"}]
replacements: [{paths: ["${V}"], tag: T, value: "${V}"}]
materials: [{uri: "${V}", attestation: "${V}"}]
artifacts: {destination: "${V}", files: ["${V}"]}
transfers: [{source: ["${V}"], destination: "${V}"}]
provenance: "${V}"
`)
	if err := c.Expand(env(map[string]string{"V": "v"})); err != nil {
		t.Fatal(err)
	}
	got := []string{
		c.Handler.Params[0], c.Source.Repo, c.Source.Ref, c.Secrets[0].From, *c.Env[0].Value,
		c.Replacements[0].Paths[0], *c.Replacements[0].Value, c.Materials[0].URI, c.Materials[0].Attestation,
		c.Artifacts.Destination, c.Artifacts.Files[0], c.Transfers[0].Source[0], c.Transfers[0].Destination, c.Provenance,
	}
	want := []string{"v", "v", "v", "file:///v", "v", "v", "v", "v", "v", "v", "v", "v", "v", "v"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("expanded = %q, want %q", got, want)
	}
}

func TestExpandErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		yaml    string
		edit    func(c *Config) // a change after parsing, for what Parse refuses
		environ map[string]string
		want    string // the whole error
	}{
		{
			name: "undefined variable",
			yaml: "materials:\n  - uri: s3://a/b\n  - uri: s3://x/${FOO}/y\n",
			want: `mmbuild.yaml:4:10: undefined variable "FOO" in materials[1].uri`,
		},
		{
			name: "undefined in the legacy runner",
			yaml: "runner:\n  id: make\n  params: [a, \"${FOO}\"]\n",
			want: `mmbuild.yaml:3:15: undefined variable "FOO" in runner.params[1]`,
		},
		{
			name: "a declared value does not see other declared entries",
			yaml: "env:\n  - var: A\n    value: ${B}\n  - var: B\n    value: b\n",
			want: `mmbuild.yaml:4:12: undefined variable "B" in env[0].value`,
		},
		{
			name: "passthrough not set",
			yaml: "env:\n  - var: CI_JOB\nprovenance: ${CI_JOB}\n",
			want: `mmbuild.yaml:4:13: undefined variable "CI_JOB" in provenance (env[0] passes it through, but it is not set)`,
		},
		{
			name: "valueFrom env not set",
			yaml: "env:\n  - var: TAG\n    valueFrom: {env: CI_COMMIT_TAG}\nprovenance: ${TAG}\n",
			want: `mmbuild.yaml:5:13: undefined variable "TAG" in provenance (env[0] takes it from "CI_COMMIT_TAG", which is not set)`,
		},
		{
			name:    "secret env entry",
			yaml:    "secrets: [{name: S}]\nenv:\n  - var: TOKEN\n    valueFrom: {secret: S}\nprovenance: out\n",
			edit:    func(c *Config) { c.Provenance = "${TOKEN}" },
			environ: map[string]string{"TOKEN": "hunter2"},
			want:    `mmbuild.yaml:6:13: variable "TOKEN" in provenance is a secret (env[0] takes it from secret "S"); secrets are never expanded into the config`,
		},
		{
			name:    "legacy secret read from the environment",
			yaml:    "secrets: [{name: AWS_SECRET}]\nprovenance: out\n",
			edit:    func(c *Config) { c.Provenance = "${AWS_SECRET}" },
			environ: map[string]string{"AWS_SECRET": "hunter2"},
			want:    `mmbuild.yaml:3:13: variable "AWS_SECRET" in provenance is a secret (it names secrets[0]); secrets are never expanded into the config`,
		},
		{
			name:    "the variable an env:// secret reads",
			yaml:    "secrets: [{name: S, from: \"env://CI_TOKEN\"}]\nprovenance: out\n",
			edit:    func(c *Config) { c.Provenance = "${CI_TOKEN}" },
			environ: map[string]string{"CI_TOKEN": "hunter2"},
			want:    `mmbuild.yaml:3:13: variable "CI_TOKEN" in provenance is a secret (secrets[0] reads it); secrets are never expanded into the config`,
		},
		{
			name:    "an env entry copying a secret variable",
			yaml:    "secrets: [{name: S, from: \"env://CI_TOKEN\"}]\nenv: [{var: T, valueFrom: {env: CI_TOKEN}}]\nprovenance: out\n",
			edit:    func(c *Config) { c.Provenance = "${T}" },
			environ: map[string]string{"CI_TOKEN": "hunter2"},
			want:    `mmbuild.yaml:4:13: variable "T" in provenance is a secret (env[0] takes it from "CI_TOKEN", which holds a secret); secrets are never expanded into the config`,
		},
		{
			name: "unterminated",
			yaml: "provenance: out\n",
			edit: func(c *Config) { c.Provenance = "${OUT" },
			want: `mmbuild.yaml:2:13: unterminated "${" in provenance (write $$ for a literal $)`,
		},
		{
			name: "invalid name",
			yaml: "provenance: out\n",
			edit: func(c *Config) { c.Provenance = "${}" },
			want: `mmbuild.yaml:2:13: invalid variable name "" in provenance`,
		},
		{
			name:    "commit checked after expansion",
			yaml:    "source: {repo: r, commit: \"${SHA}\"}\n",
			environ: map[string]string{"SHA": "main"},
			want:    `mmbuild.yaml:2:27: invalid source.commit "main": want a full commit hash (40 or 64 hexadecimal digits) after expansion`,
		},
		{
			name:    "required value empty after expansion",
			yaml:    "materials: [{uri: \"${EMPTY}\"}]\n",
			environ: map[string]string{"EMPTY": ""},
			want:    `mmbuild.yaml:2:19: materials[0].uri is required after expansion`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := tc.yaml
			if !strings.HasPrefix(yaml, "runner:") {
				yaml = "handler: {id: make}\n" + yaml
			}
			c := mustParse(t, yaml)
			if tc.edit != nil {
				tc.edit(c)
			}
			before := *c
			err := c.Expand(env(tc.environ))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Expand = %v (%T), want an *Error", err, err)
			}
			if err.Error() != tc.want {
				t.Errorf("Expand error\n got %s\nwant %s", err, tc.want)
			}
			if c.Provenance != before.Provenance || (c.Source != nil && c.Source.Commit != "${SHA}") {
				t.Errorf("a failed Expand changed the config")
			}
		})
	}
}

func TestExpandSecretRefusedAtParse(t *testing.T) {
	_, err := Parse("mmbuild.yaml", []byte("handler: {id: make}\nsecrets: [{name: S}]\nprovenance: ${S}\n"))
	if err == nil || !strings.Contains(err.Error(), `mmbuild.yaml:3:13: variable "S" in provenance is a secret`) {
		t.Errorf("Parse = %v, want the secret reference refused", err)
	}
}

func TestExpandCommitNormalized(t *testing.T) {
	c := mustParse(t, "handler: {id: make}\nsource: {repo: r, commit: \"${SHA}\"}\n")
	sha := strings.Repeat("AB", 20)
	if err := c.Expand(env(map[string]string{"SHA": sha})); err != nil {
		t.Fatal(err)
	}
	if want := strings.ToLower(sha); c.Source.Commit != want {
		t.Errorf("commit = %q, want %q", c.Source.Commit, want)
	}
}

func TestExpandNilLookupUsesEnvironment(t *testing.T) {
	t.Setenv("MMBUILD_CONFIG_TEST_VAR", "from-os")
	c := mustParse(t, "handler: {id: make}\nprovenance: ${MMBUILD_CONFIG_TEST_VAR}\n")
	if err := c.Expand(nil); err != nil {
		t.Fatal(err)
	}
	if c.Provenance != "from-os" {
		t.Errorf("provenance = %q, want %q", c.Provenance, "from-os")
	}
}
