package e2e

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// shellAndMake are the variables make and the shell add on their own to
// what the builder is given.
var shellAndMake = map[string]bool{
	"MAKEFLAGS": true, "MFLAGS": true, "MAKELEVEL": true, "MAKE_TERMOUT": true, "MAKE_TERMERR": true,
	"PWD": true, "OLDPWD": true, "SHLVL": true, "_": true,
}

// parseEnvDump reads `env` output into a map.
func parseEnvDump(t *testing.T, p string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(string(mustRead(t, p)), "\n"), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("%s: unexpected line %q", p, l)
		}
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The builder sees the documented base (those of its variables that are
// set), the declared variables and MMBUILD_MATERIALS_DIR: nothing else of
// mmbuild's environment.
func TestBuilderEnvironmentIsExactlyDeclared(t *testing.T) {
	in := testenv.NewInstall(t)
	in.Env = append(in.Env,
		"USER=e2e-user", "TZ=UTC", "TERM=dumb", // base, set; LOGNAME and LC_ALL stay unset
		"MMBUILD_E2E_CANARY=canary-must-not-leak",
		"PASS_ME=passed through",
		"FROM_SRC=renamed value",
	)
	dir := engineProject(t, map[string]string{
		"Makefile": `all:
	@mkdir -p dist
	@echo ran >> builder-ran
	@env > env.dump
	@echo built > dist/data.out
`,
		"mmbuild.yaml": `handler:
  id: make
  params: ["all"]
env:
  - var: FIXED
    value: "a b=c"
  - var: PASS_ME
  - var: RENAMED
    valueFrom: {env: FROM_SRC}
  - var: OPT_MISSING
    optional: true
  - var: OPT_RENAMED_MISSING
    valueFrom: {env: MMBUILD_E2E_NOT_SET}
    optional: true
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
`,
	})
	engineMustRun(t, in, dir, "plugins", "lock")
	engineMustRun(t, in, dir, "run")

	got := parseEnvDump(t, filepath.Join(dir, "env.dump"))
	for k := range shellAndMake {
		delete(got, k)
	}
	want := map[string]string{
		"PATH":    os.Getenv("PATH"),
		"HOME":    in.Home,
		"TMPDIR":  os.TempDir(),
		"LANG":    "C",
		"USER":    "e2e-user",
		"TZ":      "UTC",
		"TERM":    "dumb",
		"FIXED":   "a b=c",
		"PASS_ME": "passed through",
		"RENAMED": "renamed value",
	}
	matDir, ok := got["MMBUILD_MATERIALS_DIR"]
	if !ok || !filepath.IsAbs(matDir) {
		t.Errorf("MMBUILD_MATERIALS_DIR = %q", matDir)
	}
	delete(got, "MMBUILD_MATERIALS_DIR")
	if strings.Join(sortedKeys(got), " ") != strings.Join(sortedKeys(want), " ") {
		t.Errorf("builder environment names:\n got %v\nwant %v (+ MMBUILD_MATERIALS_DIR)", sortedKeys(got), sortedKeys(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if exists(matDir) {
		t.Errorf("the run's materials folder %s outlived the run", matDir)
	}

	// The attestation records exactly that environment.
	st := engineReadStatement(t, filepath.Join(dir, "out", "provenance.json"))
	att := st.Predicate.Invocation.Environment
	want["MMBUILD_MATERIALS_DIR"] = "${MMBUILD_MATERIALS_DIR}"
	if strings.Join(sortedKeys(att), " ") != strings.Join(sortedKeys(want), " ") {
		t.Errorf("attested environment names:\n got %v\nwant %v", sortedKeys(att), sortedKeys(want))
	}
	for k, v := range want {
		if att[k] != v {
			t.Errorf("attested %s = %q, want %q", k, att[k], v)
		}
	}
	if hits := engineFilesContaining(t, "canary-must-not-leak", dir); len(hits) > 0 {
		t.Errorf("mmbuild's own environment leaked into %v", hits)
	}
}

func TestPassthroughOfMissingVariable(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := engineLockedProject(t, in, `env:
  - var: MMBUILD_E2E_MISSING
`)
	engineMustFail(t, in, dir, []string{"run"}, "mmbuild.yaml:", "MMBUILD_E2E_MISSING", "not set", "optional: true")
	if exists(filepath.Join(dir, "builder-ran")) {
		t.Error("the builder ran")
	}
	assertNothingPublished(t, dir)

	// Marked optional, the same variable is simply absent.
	cfg := filepath.Join(dir, "mmbuild.yaml")
	if err := os.WriteFile(cfg, append(mustRead(t, cfg), "    optional: true\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	engineMustRun(t, in, dir, "run")
	if !exists(filepath.Join(dir, "builder-ran")) {
		t.Error("the builder did not run")
	}
}
