package replay

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

// checkYAML is the config at the recorded commit of checkBuild: a literal
// value that looks like a reference (cost-$${HOME} is the text
// cost-${HOME}), a passed-through variable used in a material's URI and an
// artifact glob, a secret, an optional variable that was unset, a material
// whose URI holds a variable the build never records (${PWD}), and the
// publishing a replay drops.
const checkYAML = `handler: {id: make, params: [dist], options: {jobs: "4"}}
secrets:
  - {name: tok, from: "env://TOKEN_SRC"}
env:
  - {var: COST, value: "cost-$${HOME}"}
  - {var: CC, value: cc}
  - {var: VERSION}
  - {var: TOKEN, valueFrom: {secret: tok}}
  - {var: OPT, optional: true}
materials:
  - uri: "https://example.com/lib-${VERSION}.tgz"
    digest: {sha256: "` + sha64a + `"}
  - uri: "file://${PWD}/materials/greeting.txt"
artifacts:
  files: ["dist/app-${VERSION}.tar.gz"]
  destination: "file://${PWD}/out/published/"
provenance: out/
`

const (
	sha64a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	sha64b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	where  = "the config at " + testCommit
)

// checkBuild is the honest build of checkYAML.
func checkBuild() provenance.Build {
	b := testBuild()
	b.Options = map[string]string{"jobs": "4"}
	b.Environment = map[string]string{
		"COST":                  "cost-${HOME}",
		"CC":                    "cc",
		"VERSION":               "1.2",
		"TOKEN":                 provenance.Redacted,
		"HOME":                  "/home/builder",
		"PATH":                  "/usr/bin:/bin",
		"MMBUILD_MATERIALS_DIR": "${MMBUILD_MATERIALS_DIR}",
		"SOURCE_DATE_EPOCH":     "1700000000",
	}
	b.Materials = append(b.Materials,
		provenance.Resource{URI: "https://example.com/lib-1.2.tgz", Digest: provenance.Digest{"sha256": sha64a}},
		provenance.Resource{URI: "file:///srv/proj/materials/greeting.txt", Digest: provenance.Digest{"sha256": sha64b}},
		provenance.Resource{URI: "mmbuild-plugin:make@1.0.0", Digest: provenance.Digest{"sha256": sha64b}},
	)
	return b
}

// checkRewrite parses yaml, writes the statement of b in format f, reads
// it as Load does and rewrites.
func checkRewrite(t *testing.T, yaml string, b provenance.Build, f provenance.Format) (*config.Config, *invocation, *Plan, error) {
	t.Helper()
	cfg, err := config.Parse("mmbuild.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	st := parsedAs(t, b, f)
	rec, err := recordedInvocation(st)
	if err != nil {
		return cfg, nil, nil, err
	}
	plan, err := rewrite(cfg, rec, where)
	return cfg, rec, plan, err
}

func envOf(cfg *config.Config) map[string]config.EnvVar {
	out := map[string]config.EnvVar{}
	for _, e := range cfg.Env {
		out[e.Var] = e
	}
	return out
}

// An honest build whose value is literally cost-${HOME} replays with that
// value: the config is expanded first, the recorded values are data.
func TestRewriteHonest(t *testing.T) {
	t.Setenv("HOME", "/home/replayer") // never read
	for _, f := range []provenance.Format{provenance.V02, provenance.V1} {
		cfg, rec, plan, err := checkRewrite(t, checkYAML, checkBuild(), f)
		if err != nil {
			t.Fatal(err)
		}
		env := envOf(cfg)
		if e := env["COST"]; e.Value == nil || *e.Value != "cost-${HOME}" {
			t.Fatalf("COST = %v, want the literal cost-${HOME}", e.Value)
		}
		for _, name := range rec.asked {
			if name == "HOME" {
				t.Fatalf("the replay looked up HOME (asked %v)", rec.asked)
			}
		}
		want := map[string]string{"CC": "cc", "VERSION": "1.2", "HOME": "/home/builder", "PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "1700000000"}
		for k, v := range want {
			if e := env[k]; e.Value == nil || *e.Value != v || e.ValueFrom != nil {
				t.Errorf("%s = %+v, want the literal %q", k, e, v)
			}
		}
		if e := env["TOKEN"]; e.ValueFrom == nil || e.ValueFrom.Secret != "tok" || e.Value != nil {
			t.Errorf("TOKEN = %+v, want the declared secret entry", e)
		}
		for _, k := range []string{"OPT", "MMBUILD_MATERIALS_DIR"} {
			if _, ok := env[k]; ok {
				t.Errorf("%s in the replay's env", k)
			}
		}
		if len(cfg.Env) != 7 {
			t.Errorf("env %+v", cfg.Env)
		}
		if len(cfg.Materials) != 2 || cfg.Materials[0].URI != "https://example.com/lib-1.2.tgz" || cfg.Materials[0].Digest["sha256"] != sha64a ||
			cfg.Materials[1].URI != "file:///srv/proj/materials/greeting.txt" || cfg.Materials[1].Digest["sha256"] != sha64b {
			t.Errorf("materials %+v", cfg.Materials)
		}
		if cfg.Artifacts.Files[0] != "dist/app-1.2.tar.gz" || cfg.Artifacts.Destination != "" || cfg.Provenance != "" {
			t.Errorf("artifacts %+v, provenance %q", cfg.Artifacts, cfg.Provenance)
		}
		if plan.Handler != "make" || quoteList(plan.Params) != `["dist"]` || plan.Options["jobs"] != "4" || len(plan.Materials) != 2 {
			t.Errorf("plan %+v", plan)
		}
		vars := map[string]PlanVar{}
		for _, v := range plan.Env {
			vars[v.Name] = v
		}
		if v := vars["TOKEN"]; !v.Secret || v.Value != "" || v.From != "secret tok" || !v.Declared {
			t.Errorf("plan TOKEN %+v", v)
		}
		if v := vars["PATH"]; v.Declared || v.Value != "/usr/bin:/bin" {
			t.Errorf("plan PATH %+v", v)
		}
		if v := vars["COST"]; !v.Declared || v.Value != "cost-${HOME}" {
			t.Errorf("plan COST %+v", v)
		}
	}
}

func TestRewriteRefuses(t *testing.T) {
	setEnv := func(k, v string) func(*provenance.Build) {
		return func(b *provenance.Build) { b.Environment[k] = v }
	}
	setMaterial := func(i int, uri string, d provenance.Digest) func(*provenance.Build) {
		return func(b *provenance.Build) { b.Materials[i] = provenance.Resource{URI: uri, Digest: d} }
	}
	tests := []struct {
		name  string
		yaml  func(string) string // a change of the config
		build func(*provenance.Build)
		want  string // the whole message, or its start when it ends in "…"
	}{
		{name: "handler", build: func(b *provenance.Build) { b.HandlerID = "go" },
			want: `replay: the attestation's handler "go" differs from ` + where + `: "make"`},
		{name: "params added", build: func(b *provenance.Build) { b.Params = []string{"dist", "X=1"} },
			want: `replay: the attestation's params ["dist","X=1"] differ from ` + where + `: ["dist"]`},
		{name: "params reordered", yaml: replace("params: [dist]", "params: [a, b]"), build: func(b *provenance.Build) { b.Params = []string{"b", "a"} },
			want: `replay: the attestation's params ["b","a"] differ from ` + where + `: ["a","b"]`},
		{name: "options differ", build: func(b *provenance.Build) { b.Options = map[string]string{"jobs": "64"} },
			want: `replay: the attestation's handler options {"jobs":"64"} differ from ` + where + `: {"jobs":"4"}`},
		{name: "options absent (old attestation), config has some", build: func(b *provenance.Build) { b.Options = nil },
			want: `replay: the attestation's handler options {} differ from ` + where + `: {"jobs":"4"}`},
		{name: "undeclared variable added", build: setEnv("LD_PRELOAD", "/tmp/evil.so"),
			want: `replay: the attestation's environment has LD_PRELOAD, which ` + where + ` does not declare`},
		{name: "undeclared variables added", build: func(b *provenance.Build) { b.Environment["B"], b.Environment["A"] = "1", "2" },
			want: `replay: the attestation's environment has A, B, which ` + where + ` does not declare`},
		{name: "hostile variable name", build: setEnv("X\x1b[2J", "1"),
			want: `replay: the attestation's environment has "X\x1b[2J", which ` + where + ` does not declare`},
		{name: "declared variable missing", build: func(b *provenance.Build) { delete(b.Environment, "CC") },
			want: `replay: ` + where + ` declares CC (env[1]), which the attestation's environment does not have`},
		{name: "declared secret missing", build: func(b *provenance.Build) { delete(b.Environment, "TOKEN") },
			want: `replay: ` + where + ` declares TOKEN (env[3]), which the attestation's environment does not have`},
		{name: "literal value differs", build: setEnv("COST", "cost-/home/builder"),
			want: `replay: the attestation's value of COST "cost-/home/builder" differs from ` + where + `: "cost-${HOME}" (env[0])`},
		{name: "literal value differs, recorded as a secret", build: setEnv("CC", provenance.Redacted),
			want: `replay: the attestation's environment has CC as a secret ([redacted]), but ` + where + ` does not take it from a secret (env[1])`},
		{name: "secret in clear", build: setEnv("TOKEN", "hunter2-hunter2"),
			want: `replay: the attestation's environment has a value for TOKEN, which ` + where + ` takes from secret "tok" (env[3]): a secret is never taken from an attestation`},
		{name: "secret read from the environment, in clear",
			yaml:  replace("{var: OPT, optional: true}", "{var: OPT, valueFrom: {env: TOKEN_SRC}}"),
			build: setEnv("OPT", "hunter2-hunter2"),
			want:  `replay: the attestation's environment has a value for OPT, which ` + where + ` takes from variable TOKEN_SRC, which secrets[0] reads (env[4]): a secret is never taken from an attestation`},
		{name: "passed-through recorded as a secret", build: setEnv("VERSION", provenance.Redacted),
			want: `replay: the attestation's environment has VERSION as a secret ([redacted]), but ` + where + ` does not take it from a secret (env[2])`},
		{name: "run's own recorded as a secret", build: setEnv("HOME", provenance.Redacted),
			want: `replay: the attestation's environment has HOME as a secret ([redacted]), but ` + where + ` does not declare it`},
		{name: "partly redacted", build: setEnv("VERSION", "1.[redacted]"),
			want: `replay: the attestation's value of VERSION is partly redacted ("1.[redacted]"): it cannot be replayed`},
		{name: "material added", build: func(b *provenance.Build) {
			b.Materials = append(b.Materials, provenance.Resource{URI: "https://evil.example/x", Digest: provenance.Digest{"sha256": sha64a}})
		}, want: `replay: the attestation's materials ["file:///srv/proj/materials/greeting.txt","https://evil.example/x","https://example.com/lib-1.2.tgz"] differ from ` +
			where + `: ["file://${PWD}/materials/greeting.txt","https://example.com/lib-1.2.tgz"]`},
		{name: "material removed", build: func(b *provenance.Build) { b.Materials = b.Materials[:2] },
			want: `replay: the attestation's materials ["https://example.com/lib-1.2.tgz"] differ from …`},
		{name: "material URI differs", build: setMaterial(1, "https://evil.example/lib-1.2.tgz", provenance.Digest{"sha256": sha64a}),
			want: `replay: the attestation's materials ["file:///srv/proj/materials/greeting.txt","https://evil.example/lib-1.2.tgz"] differ from …`},
		{name: "material of another version", build: setMaterial(1, "https://example.com/lib-1.3.tgz", provenance.Digest{"sha256": sha64a}),
			want: `replay: the attestation's materials ["file:///srv/proj/materials/greeting.txt","https://example.com/lib-1.3.tgz"] differ from …`},
		{name: "unknown variable does not span a query", build: setMaterial(2, "file:///x?/materials/greeting.txt", provenance.Digest{"sha256": sha64b}),
			want: `replay: the attestation's materials ["file:///x?REDACTED","https://example.com/lib-1.2.tgz"] differ from …`},
		{name: "unknown variable hides a .. segment", build: setMaterial(2, "file:///srv/proj/../../etc/materials/greeting.txt", provenance.Digest{"sha256": sha64b}),
			want: `replay: the attestation's material file:///srv/proj/../../etc/materials/greeting.txt (materials[1] of ` + where + `): has a .. segment`},
		{name: "unknown variable hides a user name", build: setMaterial(2, "https://token@evil.example/materials/greeting.txt", provenance.Digest{"sha256": sha64b}),
			yaml: replace(`file://${PWD}/materials`, `https://${HOST}/materials`),
			want: `replay: the attestation's material https://token@evil.example/materials/greeting.txt (materials[1] of ` + where + `): carries a user name or password`},
		{name: "material digest differs from the config's", build: setMaterial(1, "https://example.com/lib-1.2.tgz", provenance.Digest{"sha256": sha64b}),
			want: `replay: the attestation's digest of material https://example.com/lib-1.2.tgz (sha256:` + sha64b + `) differs from ` + where + `: sha256:` + sha64a + ` (materials[0])`},
		{name: "material without digest", build: setMaterial(1, "https://example.com/lib-1.2.tgz", nil),
			want: `replay: material https://example.com/lib-1.2.tgz has no recorded digest`},
		{name: "unknown variable in params", yaml: replace("params: [dist]", `params: ["${CI_TAG}"]`),
			want: `replay: ` + where + ` uses ${CI_TAG} in handler.params[0]: the config does not declare it and the attestation does not record it (declare it under env: to replay it)`},
		{name: "unknown variable in a value", yaml: replace(`{var: CC, value: cc}`, `{var: CC, value: "${CI_CC}"}`),
			want: `replay: ` + where + ` uses ${CI_CC} in env[1].value: …`},
		{name: "unknown variable in options", yaml: replace(`options: {jobs: "4"}`, `options: {jobs: "${NPROC}"}`),
			want: `replay: ` + where + ` uses ${NPROC} in handler.options.jobs: …`},
		{name: "unknown variable in a glob", yaml: replace(`dist/app-${VERSION}`, `dist/app-${CI_TAG}`),
			want: `replay: ` + where + ` uses ${CI_TAG} in artifacts.files[0]: …`},
		{name: "optional unset is undefined in a value, as in the build", yaml: replace(`{var: CC, value: cc}`, `{var: CC, value: "${OPT}"}`),
			want: `replay: ` + where + `, expanded from the recorded environment: mmbuild.yaml:6:22: undefined variable "OPT" in env[1].value`},
		{name: "one unknown variable, two texts", yaml: replace("materials:\n", "materials:\n  - uri: \"file://${PWD}/other.txt\"\n"),
			build: func(b *provenance.Build) {
				b.Materials = append(b.Materials, provenance.Resource{URI: "file:///elsewhere/other.txt", Digest: provenance.Digest{"sha256": sha64a}})
			},
			want: `replay: the attestation's materials […`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml, b := checkYAML, checkBuild()
			if tt.yaml != nil {
				yaml = tt.yaml(yaml)
			}
			if tt.build != nil {
				tt.build(&b)
			}
			_, _, _, err := checkRewrite(t, yaml, b, provenance.V1)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("rewrite: %v, want a refusal", err)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r\x00") {
				t.Errorf("not one clean line: %q", msg)
			}
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !strings.HasPrefix(msg, prefix) {
					t.Fatalf("rewrite:\n got %s\nwant %s", msg, tt.want)
				}
			} else if msg != tt.want {
				t.Fatalf("rewrite:\n got %s\nwant %s", msg, tt.want)
			}
		})
	}
}

// replace returns a change of the config that must apply.
func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("replace: " + old + " not in the config")
		}
		return strings.Replace(s, old, new, 1)
	}
}

// How the config's own ${…} resolve in a replay: from the recorded
// environment where it records what the builder had, else unknown (never
// the replaying machine's).
func TestRewriteExpandsFromTheRecord(t *testing.T) {
	t.Setenv("CI_TAG", "from-the-replaying-machine")
	yaml := replace("params: [dist]", `params: ["dist", "V=${VERSION}", "H=${HOME}", "S=${SRC}", "D=$${HOME}"]`)(checkYAML)
	yaml = replace("{var: OPT, optional: true}", "{var: FROMSRC, valueFrom: {env: SRC}}")(yaml)
	b := checkBuild()
	b.Params = []string{"dist", "V=1.2", "H=/home/builder", "S=src-value", "D=${HOME}"}
	b.Environment["FROMSRC"] = "src-value"
	cfg, _, _, err := checkRewrite(t, yaml, b, provenance.V02)
	if err != nil {
		t.Fatal(err)
	}
	if got := quoteList(cfg.Handler.Params); got != quoteList(b.Params) {
		t.Fatalf("params %s", got)
	}
	// The same config, params from the replaying machine: refused.
	yaml = replace(`"D=$${HOME}"`, `"T=${CI_TAG}"`)(yaml)
	b.Params[4] = "T=from-the-replaying-machine"
	if _, _, _, err := checkRewrite(t, yaml, b, provenance.V02); err == nil || !strings.Contains(err.Error(), "uses ${CI_TAG} in handler.params[4]") {
		t.Fatalf("rewrite: %v", err)
	}
}

func TestMatchURI(t *testing.T) {
	tmpl := "file://" + unknownValue("PWD") + "/a/" + unknownValue("PWD") + "/b"
	tests := []struct {
		uri   string
		bound map[string]string
		want  bool
	}{
		{uri: "file:///x/a//x/b", want: true},
		{uri: "file:///x/a//y/b", want: false}, // one variable, one text
		{uri: "file:///x/a//x/b", bound: map[string]string{"PWD": "/y"}, want: false},
		{uri: "file:///x/a//x/b", bound: map[string]string{"PWD": "/x"}, want: true},
		{uri: "file:///x?q/a//x?q/b", want: false},
		{uri: "file:///x\n/a//x\n/b", want: false},
		{uri: "file:///x/a//x/b/c", want: false},
	}
	for _, tt := range tests {
		bound := tt.bound
		if bound == nil {
			bound = map[string]string{}
		}
		if got := matchURI(tmpl, tt.uri, bound); got != tt.want {
			t.Errorf("matchURI(%q): %v, want %v", tt.uri, got, tt.want)
		}
	}
	if !matchURI("https://h/x", "https://h/x", map[string]string{}) || matchURI("https://h/x", "https://h/y", map[string]string{}) {
		t.Error("exact URIs")
	}
}

func TestRecordedInvocationShape(t *testing.T) {
	tests := []struct {
		name string
		stmt func(*provenance.Record)
		want string
	}{
		{name: "non-string param", stmt: func(st *provenance.Record) {
			st.Parameters = json.RawMessage(`{"handler": "make", "params": [1]}`)
		}, want: "invocation.parameters is not the mmbuild shape"},
		{name: "unknown parameter", stmt: func(st *provenance.Record) {
			st.Parameters = json.RawMessage(`{"handler": "make", "params": [], "shell": "sh"}`)
		}, want: `unknown field "shell"`},
		{name: "non-string option", stmt: func(st *provenance.Record) {
			st.Parameters = json.RawMessage(`{"handler": "make", "options": {"j": 4}}`)
		}, want: "invocation.parameters is not the mmbuild shape"},
		{name: "non-string env", stmt: func(st *provenance.Record) {
			st.Environment = json.RawMessage(`{"CC": ["cc"]}`)
		}, want: "invocation.environment is not a map of names to strings"},
		{name: "v1: unknown external parameter", stmt: func(st *provenance.Record) {
			st.Format = provenance.V1
			st.Parameters = json.RawMessage(`{"handler": "make", "params": [], "source": {"uri": "x", "entryPoint": "y"}, "shell": "sh"}`)
		}, want: `unknown field "shell"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := parsed(t, checkBuild())
			tt.stmt(st)
			_, err := recordedInvocation(st)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("recordedInvocation: %v, want %q", err, tt.want)
			}
		})
	}
}
