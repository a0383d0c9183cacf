package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

const engineMakefile = `all:
	@mkdir -p dist
	@echo ran >> builder-ran
	@echo built > dist/data.out
`

// A config error is one line naming file:line:col and what is wrong, from
// validate and from run alike; run writes nothing and runs nothing.
func TestConfigErrorsHavePositions(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	tests := []struct {
		name   string
		config string
		pos    string // line:col
		want   []string
	}{
		{
			name: "unknown key",
			config: `handler:
  id: make
  params: ["all"]
  paramz: ["x"]
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
`,
			pos:  "4:3",
			want: []string{`unknown key "paramz"`, "handler"},
		},
		{
			name: "mapping where a list is wanted",
			config: `handler:
  id: make
  params: ["all"]
artifacts:
  destination: file://${PWD}/published/
  files:
    glob: "dist/*.out"
provenance: out/
`,
			pos:  "7:5",
			want: []string{"wrong type", "artifacts.files", "expected a list, got a mapping"},
		},
		{
			name: "undefined variable",
			config: `handler:
  id: make
  params: ["all"]
artifacts:
  destination: file://${MMBUILD_E2E_UNDEFINED}/published/
  files: ["dist/*.out"]
provenance: out/
`,
			pos:  "5:16",
			want: []string{"undefined variable", "MMBUILD_E2E_UNDEFINED", "artifacts.destination"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := engineProject(t, map[string]string{"Makefile": engineMakefile, "mmbuild.yaml": tt.config})
			engineMustRun(t, in, dir, "plugins", "lock")
			where := filepath.Join(dir, "mmbuild.yaml") + ":" + tt.pos + ": "
			for _, args := range [][]string{{"validate"}, {"run"}, {"run", "-f", "mmbuild.yaml"}} {
				want := append([]string{where}, tt.want...)
				if len(args) == 3 {
					want[0] = " mmbuild.yaml:" + tt.pos + ": " // as given on the command line
				}
				line := engineMustFail(t, in, dir, args, want...)
				if !strings.HasPrefix(line, "mmbuild: ") {
					t.Errorf("error line %q", line)
				}
			}
			if exists(filepath.Join(dir, "builder-ran")) {
				t.Error("the builder ran")
			}
			assertNothingPublished(t, dir)
		})
	}

	// The same project with a good config validates and runs: the failures
	// above are the config's.
	t.Run("control", func(t *testing.T) {
		dir := engineProject(t, map[string]string{"Makefile": engineMakefile, "mmbuild.yaml": `handler:
  id: make
  params: ["all"]
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
`})
		engineMustRun(t, in, dir, "plugins", "lock")
		if v := engineMustRun(t, in, dir, "validate"); !strings.Contains(v.Stdout, "valid (handler make") {
			t.Errorf("validate: %s", v.Stdout)
		}
		engineMustRun(t, in, dir, "run")
		if engineLines(t, filepath.Join(dir, "builder-ran")) != 1 {
			t.Error("the builder did not run once")
		}
	})
}

// Paths the config gives relative to the work tree are checked when the
// config is loaded: validate refuses them, and run refuses them before the
// builder runs, not after.
func TestConfigPathsCheckedBeforeBuild(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	tests := []struct {
		name, from, to, pos string
		want                []string
	}{
		{"provenance ..", "provenance: out/", "provenance: ../out/", "7:13", []string{"provenance", `"../out/"`, "leaves the work tree"}},
		{"artifact ..", `files: ["dist/*.out"]`, `files: ["dist/*.out", "../dist/*.out"]`, "6:25", []string{"artifacts.files[1]", `"../dist/*.out"`, "leaves the work tree"}},
		{"artifact absolute", `files: ["dist/*.out"]`, `files: ["/tmp/*.out"]`, "6:11", []string{"artifacts.files[0]", `"/tmp/*.out"`, "absolute"}},
		{"transfer source ..", "provenance: out/", "provenance: out/\ntransfers:\n  - source: [dist/../../x]\n    destination: file://${PWD}/rel/", "9:14", []string{"transfers[0].source[0]", "leaves the work tree"}},
		{"replacement path ..", "provenance: out/", "provenance: out/\nreplacements:\n  - paths: [a.txt, ../b.txt]\n    tag: x\n    value: y", "9:20", []string{"replacements[0].paths[1]", "leaves the work tree"}},
	}
	base := `handler:
  id: make
  params: ["all"]
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := strings.Replace(base, tt.from, tt.to, 1)
			dir := engineProject(t, map[string]string{"Makefile": engineMakefile, "mmbuild.yaml": cfg})
			engineMustRun(t, in, dir, "plugins", "lock")
			where := filepath.Join(dir, "mmbuild.yaml") + ":" + tt.pos + ": "
			for _, args := range [][]string{{"validate"}, {"run"}} {
				engineMustFail(t, in, dir, args, append([]string{where}, tt.want...)...)
			}
			if exists(filepath.Join(dir, "builder-ran")) {
				t.Error("the builder ran")
			}
			assertNothingPublished(t, dir)
		})
	}
}

// The attestation's entryPoint is the config's path in the source, also
// when the config is named relative to the current folder.
func TestEntryPointOfConfigInSubfolder(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := engineProject(t, map[string]string{
		"Makefile": engineMakefile,
		"ci/mmbuild.yaml": `handler:
  id: make
  params: ["all"]
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
`,
	})
	engineMustRun(t, in, dir, "plugins", "lock", "-C", "ci")
	engineMustRun(t, in, dir, "run", "-f", "ci/mmbuild.yaml", "-w", ".")
	st := engineReadStatement(t, filepath.Join(dir, "out/provenance.json"))
	var raw struct {
		Predicate struct {
			Invocation struct {
				ConfigSource struct {
					URI        string `json:"uri"`
					EntryPoint string `json:"entryPoint"`
				} `json:"configSource"`
			} `json:"invocation"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "out/provenance.json")), &raw); err != nil {
		t.Fatal(err)
	}
	cs := raw.Predicate.Invocation.ConfigSource
	if cs.EntryPoint != "ci/mmbuild.yaml" || cs.URI != "file://"+dir {
		t.Errorf("configSource %+v, want entryPoint ci/mmbuild.yaml in file://%s", cs, dir)
	}
	if len(st.Subject) != 1 {
		t.Errorf("subjects %+v", st.Subject)
	}
}
