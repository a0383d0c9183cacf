package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

func outputsProject(t *testing.T, in *testenv.Install) string {
	t.Helper()
	dir := engineProject(t, map[string]string{
		"Makefile": `all:
	@mkdir -p dist
	@echo ran >> builder-ran
	echo data > dist/data.out
	echo app > dist/my-app.v1.out
	@echo "builder output on stdout"
`,
		"mmbuild.yaml": `handler:
  id: make
  params: ["all"]
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
`,
	})
	engineMustRun(t, in, dir, "plugins", "lock")
	return dir
}

func wantBuildEnv(rep engineReport) string {
	return "MMBUILD_STAGING_PATH=" + rep.StagingKey + "\n" +
		"MMBUILD_STAGING_URL=" + rep.StagingURL + "\n" +
		"MMBUILD_ARTIFACT_DATA_OUT_URL=" + rep.StagingURL + "/data.out\n" +
		"MMBUILD_ARTIFACT_MY_APP_V1_OUT_URL=" + rep.StagingURL + "/my-app.v1.out\n"
}

func TestOutputs(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)

	t.Run("build.env", func(t *testing.T) {
		dir := outputsProject(t, in)
		rep, r := engineRunJSON(t, in, dir) // strict: the builder's stdout must not mix into the JSON
		if !strings.Contains(r.Stderr, "builder output on stdout") {
			t.Errorf("with --json the builder's output goes to stderr:\n%s", r.Stderr)
		}
		if want := "file://" + filepath.Join(dir, "published", rep.StagingKey); rep.StagingURL != want {
			t.Errorf("staging URL %s, want %s", rep.StagingURL, want)
		}
		envFile := filepath.Join(dir, "build.env")
		if rep.OutputEnv != envFile || rep.Attestation != filepath.Join(dir, "out/provenance.json") {
			t.Errorf("report paths: output_env %s attestation %s", rep.OutputEnv, rep.Attestation)
		}
		if got := string(mustRead(t, envFile)); got != wantBuildEnv(rep) {
			t.Errorf("build.env:\n%s\nwant:\n%s", got, wantBuildEnv(rep))
		}
		for _, a := range rep.Artifacts {
			if got := sha256Hex(t, mustRead(t, engineFilePath(t, a.URL))); got != a.SHA256 {
				t.Errorf("%s at %s: sha256 %s, report says %s", a.Name, a.URL, got, a.SHA256)
			}
		}
	})

	t.Run("--output-env", func(t *testing.T) {
		dir := outputsProject(t, in)
		abs := filepath.Join(t.TempDir(), "ci", "next.env")
		rep, _ := engineRunJSON(t, in, dir, "--output-env", abs)
		if rep.OutputEnv != abs {
			t.Errorf("report output_env %s, want %s", rep.OutputEnv, abs)
		}
		if got := string(mustRead(t, abs)); got != wantBuildEnv(rep) {
			t.Errorf("%s:\n%s\nwant:\n%s", abs, got, wantBuildEnv(rep))
		}
		if exists(filepath.Join(dir, "build.env")) {
			t.Error("build.env written in the work tree despite --output-env")
		}
		// A relative path is relative to the current folder.
		rep2, _ := engineRunJSON(t, in, dir, "--output-env", "rel/next.env")
		if got := string(mustRead(t, filepath.Join(dir, "rel/next.env"))); got != wantBuildEnv(rep2) {
			t.Errorf("rel/next.env:\n%s", got)
		}
	})

	t.Run("GITHUB_OUTPUT", func(t *testing.T) {
		dir := outputsProject(t, in)
		gh := filepath.Join(t.TempDir(), "github_output")
		if err := os.WriteFile(gh, []byte("earlier=step\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		in := *in
		in.Env = append(append([]string(nil), in.Env...), "GITHUB_OUTPUT="+gh)
		rep, _ := engineRunJSON(t, &in, dir)
		if got := string(mustRead(t, gh)); got != "earlier=step\n"+wantBuildEnv(rep) {
			t.Errorf("$GITHUB_OUTPUT:\n%s\nwant the earlier line and then:\n%s", got, wantBuildEnv(rep))
		}
		if got := string(mustRead(t, filepath.Join(dir, "build.env"))); got != wantBuildEnv(rep) {
			t.Errorf("build.env:\n%s", got)
		}
	})
}

// --output-env and --summary pointed at the project's config or lock file,
// or --output-env at an existing folder, fail with one error line before
// anything is published, and leave the config and the lock as they were.
func TestOutputsNeverReplaceTheProjectsInputs(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := outputsProject(t, in)
	cfg, lock := mustRead(t, filepath.Join(dir, "mmbuild.yaml")), mustRead(t, filepath.Join(dir, "mmbuild.lock.hcl"))
	if err := os.Mkdir(filepath.Join(dir, "envdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--output-env", "mmbuild.yaml"}, "the project's mmbuild.yaml"},
		{[]string{"--output-env", "mmbuild.lock.hcl"}, "the project's mmbuild.lock.hcl"},
		{[]string{"--summary", "mmbuild.yaml"}, "the project's mmbuild.yaml"},
		{[]string{"--summary", "mmbuild.lock.hcl"}, "the project's mmbuild.lock.hcl"},
		{[]string{"--output-env", "envdir"}, "envdir: it is a folder"},
	} {
		engineMustFail(t, in, dir, append([]string{"run"}, tt.args...), tt.want)
		if got := mustRead(t, filepath.Join(dir, "mmbuild.yaml")); string(got) != string(cfg) {
			t.Fatalf("run %v changed mmbuild.yaml:\n%s", tt.args, got)
		}
		if got := mustRead(t, filepath.Join(dir, "mmbuild.lock.hcl")); string(got) != string(lock) {
			t.Fatalf("run %v changed mmbuild.lock.hcl:\n%s", tt.args, got)
		}
		if exists(filepath.Join(dir, "published")) {
			t.Fatalf("run %v published although its output's place is refused", tt.args)
		}
	}
}
