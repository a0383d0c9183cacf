package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// What of the GitHub action cannot run here, and is therefore not tested:
// GitHub's evaluation of action.yml (the ${{ }} expressions, inputs turned
// into the steps' environment, steps.run.outputs mapped to the action's
// outputs, $GITHUB_PATH taking effect in the next step), the masking of
// secrets in the log, and actions/upload-artifact. What is tested: the
// action's two shell steps as GitHub runs them (install.sh sourced by sh,
// run.sh run by sh in the working directory, with $GITHUB_PATH,
// $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY and $RUNNER_TEMP as files), the
// format GitHub reads those files in, and that action.yml names only
// inputs it declares and scripts that exist.

// readGitHubOutput parses a $GITHUB_OUTPUT file as GitHub does: NAME=value
// lines and NAME<<DELIMITER blocks ending at a line that is DELIMITER.
func readGitHubOutput(t *testing.T, path string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	lines := strings.Split(strings.TrimSuffix(string(mustRead(t, path)), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		if name, delim, ok := strings.Cut(lines[i], "<<"); ok {
			end := slices.Index(lines[i+1:], delim)
			if end < 0 {
				t.Fatalf("%s:%d: %s<<%s has no closing delimiter", path, i+1, name, delim)
			}
			out[name] = append(out[name], strings.Join(lines[i+1:i+1+end], "\n"))
			i += end + 1
			continue
		}
		name, v, ok := strings.Cut(lines[i], "=")
		if !ok {
			t.Fatalf("%s:%d: neither NAME=value nor NAME<<DELIMITER: %q", path, i+1, lines[i])
		}
		out[name] = append(out[name], v)
	}
	return out
}

// ghStep runs one shell step of the action with sh, as GitHub does, and
// returns its output.
func ghStep(t *testing.T, dir string, env []string, script ...string) string {
	t.Helper()
	cmd := exec.Command("sh", script...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("sh %v in %s: %v\n%s", script, dir, err, out.String())
	}
	return out.String()
}

// The action's steps on examples/pipeline: the install step puts a pinned
// release on $GITHUB_PATH; the run step builds webapp, signing with a key
// given as the secret's text, writes build.env as step outputs and a job
// summary whose signature verifies with the committed public key; the
// server build, handed webapp's outputs as the next job is, builds on them.
func TestGitHubActionSteps(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	release, pin := ciRelease(t, in)
	action := filepath.Join(testenv.Root(), "ci", "github")
	repo, privateKey := ciExample(t, in)
	ciCommit(t, repo) // each job's mmbuild run finds the lock at the checkout's root

	runner := t.TempDir()
	files := map[string]string{}
	for _, f := range []string{"GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"} {
		files[f] = filepath.Join(runner, f)
		writeFiles(t, runner, map[string]string{f: ""})
	}
	runnerTemp := filepath.Join(runner, "temp")
	if err := os.MkdirAll(runnerTemp, 0o755); err != nil {
		t.Fatal(err)
	}
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + in.Home, "LANG=C", "RUNNER_TEMP=" + runnerTemp,
		"RUNNER_TOOL_CACHE=" + filepath.Join(runner, "toolcache"), "GITHUB_ACTION_PATH=" + action}
	for k, p := range files {
		base = append(base, k+"="+p)
	}

	// Install step: `. "$GITHUB_ACTION_PATH/../install.sh"`.
	log := ghStep(t, repo, append(slices.Clone(base), "MMBUILD_VERSION=v0.1.0", "MMBUILD_SHA256SUMS="+pin, "MMBUILD_RELEASE_URL=file://"+release),
		"-c", `. "$GITHUB_ACTION_PATH/../install.sh"`)
	binDir := filepath.Join(runner, "toolcache", "mmbuild", "v0.1.0", "bin")
	if got := strings.TrimSpace(string(mustRead(t, files["GITHUB_PATH"]))); got != binDir {
		t.Fatalf("$GITHUB_PATH holds %q, want %q\n%s", got, binDir, log)
	}
	// The next steps see the folder on PATH, as GitHub puts it there.
	stepEnv := func(extra ...string) []string {
		env := slices.DeleteFunc(slices.Clone(base), func(kv string) bool { return strings.HasPrefix(kv, "PATH=") })
		return append(append(env, "PATH="+binDir+":"+os.Getenv("PATH"), "MMBUILD_STORE=file://"+filepath.Join(repo, "out", "store")), extra...)
	}

	// Run step of the webapp job.
	builderID := "https://github.com/org/app/actions/runs/42/attempts/1"
	log = ghStep(t, filepath.Join(repo, "webapp"), stepEnv("MMBUILD_SIGNING_KEY="+privateKey, "MMBUILD_VERIFY_KEY=../keys/demo.pub", "MMBUILD_BUILDER_ID="+builderID),
		filepath.Join(action, "run.sh"))
	outputs := readGitHubOutput(t, files["GITHUB_OUTPUT"])
	env := readDotenv(t, filepath.Join(repo, "webapp", "build.env"))
	for name, v := range env {
		if got := outputs[name]; len(got) != 1 || got[0] != v {
			t.Errorf("step output %s = %q, want it once, %q (from build.env)", name, got, v)
		}
	}
	if got := outputs["env-file"]; len(got) != 1 || got[0] != filepath.Join(repo, "webapp", "build.env") {
		t.Errorf("step output env-file = %q", got)
	}
	if !strings.HasPrefix(env["MMBUILD_STAGING_URL"], "file://"+filepath.Join(repo, "out", "store", "webapp")+"/") {
		t.Fatalf("build.env: %v", env)
	}
	st := engineReadStatement(t, filepath.Join(repo, "webapp", "out", "provenance.json"))
	webappSHA := sha256Hex(t, mustRead(t, filepath.Join(repo, "webapp", "dist", "webapp.tar.gz")))
	summary := string(mustRead(t, files["GITHUB_STEP_SUMMARY"]))
	for _, w := range []string{"### mmbuild", "| staging URL | `" + env["MMBUILD_STAGING_URL"] + "` |", "| builder | `" + builderID + "` |",
		"| webapp.tar.gz | `sha256:" + webappSHA + "` | `" + env["MMBUILD_STAGING_URL"] + "/webapp.tar.gz` |", "signed (1 signature(s))", "| verified with the given key | ok |"} {
		if !strings.Contains(summary, w) {
			t.Errorf("the job summary lacks %q:\n%s", w, summary)
		}
	}
	if d, _ := st.subject("webapp.tar.gz"); d["sha256"] != webappSHA {
		t.Errorf("attested subject: %v", d)
	}
	// The key was a file only while mmbuild ran, and went nowhere else.
	if left, _ := os.ReadDir(runnerTemp); len(left) > 0 {
		t.Errorf("RUNNER_TEMP holds %d files after the step: the key file was not removed", len(left))
	}
	pemBody := strings.Split(strings.TrimSpace(privateKey), "\n")[1]
	if got := engineFilesContaining(t, pemBody, runner, filepath.Join(repo, "webapp", "out"), filepath.Join(repo, "out")); len(got) > 0 || strings.Contains(log, pemBody) {
		t.Errorf("the private key leaked into %v (or the step's log)", got)
	}

	// The server job: GitHub hands it webapp's outputs as environment
	// (env: MMBUILD_STAGING_URL: ${{ needs.webapp.outputs.staging-url }}).
	writeFiles(t, runner, map[string]string{"GITHUB_OUTPUT": "", "GITHUB_STEP_SUMMARY": ""})
	ghStep(t, filepath.Join(repo, "server"), stepEnv("MMBUILD_STAGING_URL="+outputs["MMBUILD_STAGING_URL"][0], "MMBUILD_STAGING_PATH="+outputs["MMBUILD_STAGING_PATH"][0]),
		filepath.Join(action, "run.sh"))
	server := readGitHubOutput(t, files["GITHUB_OUTPUT"])
	if got := server["MMBUILD_STAGING_URL"]; len(got) != 1 || !strings.HasPrefix(got[0], "file://"+filepath.Join(repo, "out", "store", "server")+"/") {
		t.Errorf("server step output MMBUILD_STAGING_URL = %q", got)
	}
	summary = string(mustRead(t, files["GITHUB_STEP_SUMMARY"]))
	if !strings.Contains(summary, "| "+outputs["MMBUILD_STAGING_URL"][0]+"/webapp.tar.gz | `sha256:"+webappSHA+"` |") || !strings.Contains(summary, "| signature | not signed |") {
		t.Errorf("the server job's summary does not list its material, or claims a signature:\n%s", summary)
	}
}

// The step output form holds values with line breaks and with text that
// looks like a delimiter: each reads back as written.
func TestGitHubOutputsMultiline(t *testing.T) {
	out := filepath.Join(t.TempDir(), "GITHUB_OUTPUT")
	writeFiles(t, filepath.Dir(out), map[string]string{"GITHUB_OUTPUT": "EARLIER=kept\n"})
	values := map[string]string{
		"plain":     "s3://bucket/key",
		"multiline": "line one\nline two\n\nline four",
		"tricky":    "EOF\nmmbuild_00\nx<<y\nNAME=value",
		"empty":     "",
	}
	var script strings.Builder
	script.WriteString(`. "$1"` + "\n")
	for k, v := range values {
		script.WriteString("mmbuild_output " + k + " '" + v + "'\n")
	}
	ghStep(t, t.TempDir(), []string{"PATH=" + os.Getenv("PATH"), "GITHUB_OUTPUT=" + out}, "-c", script.String(), "sh", filepath.Join(testenv.Root(), "ci", "github", "outputs.sh"))
	got := readGitHubOutput(t, out)
	if e := got["EARLIER"]; len(e) != 1 || e[0] != "kept" {
		t.Errorf("the lines before were not kept: %q", e)
	}
	for k, v := range values {
		if g := got[k]; len(g) != 1 || g[0] != v {
			t.Errorf("output %s read back as %q, want %q", k, g, v)
		}
	}
}

// action.yml uses only inputs it declares, runs scripts that exist, and
// maps its outputs from the run step.
func TestGitHubActionFile(t *testing.T) {
	path := filepath.Join(testenv.Root(), "ci", "github", "action.yml")
	var a struct {
		Inputs  map[string]struct{ Default *string } `yaml:"inputs"`
		Outputs map[string]struct{ Value string }    `yaml:"outputs"`
		Runs    struct {
			Using string `yaml:"using"`
			Steps []struct {
				ID, Run, Uses, Shell string
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	data := mustRead(t, path)
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using = %q", a.Runs.Using)
	}
	for _, m := range regexpAll(`inputs\.([a-z0-9-]+)`, string(data)) {
		if _, ok := a.Inputs[m]; !ok {
			t.Errorf("action.yml uses inputs.%s, which it does not declare", m)
		}
	}
	for _, s := range a.Runs.Steps {
		for _, m := range regexpAll(`\$GITHUB_ACTION_PATH/([^"]+)`, s.Run) {
			if !exists(filepath.Join(filepath.Dir(path), m)) {
				t.Errorf("step runs %s, which does not exist", m)
			}
		}
		if s.Run != "" && s.Shell != "sh" {
			t.Errorf("step %q runs in %q, want sh (the scripts are POSIX sh)", s.Run, s.Shell)
		}
	}
	for name, o := range a.Outputs {
		if !strings.HasPrefix(o.Value, "${{ steps.run.outputs.") {
			t.Errorf("output %s = %q, not the run step's", name, o.Value)
		}
	}
}

// A cancelled job: the runner's SIGTERM (or SIGINT, SIGHUP) to the run
// step's sh ends the mmbuild it runs, build included, and removes the
// decoded signing key from $RUNNER_TEMP; the step fails.
func TestGitHubRunStepCancelled(t *testing.T) {
	in := testenv.NewInstall(t)
	run := filepath.Join(testenv.Root(), "ci", "github", "run.sh")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := lockedProject(t, in, "")
			cfg := filepath.Join(dir, "mmbuild.yaml")
			writeFiles(t, dir, map[string]string{"mmbuild.yaml": strings.Replace(string(mustRead(t, cfg)), `params: ["all"]`, `params: ["long"]`, 1)})
			runnerTemp := t.TempDir()
			cmd := exec.Command("sh", run)
			cmd.Dir = dir
			cmd.Env = append(slices.Clone(in.Env), "PATH="+in.BinDir+":"+os.Getenv("PATH"), "PWD="+dir, "RUNNER_TEMP="+runnerTemp,
				"MMBUILD_SIGNING_KEY=-----BEGIN PRIVATE KEY-----\nnot read by this build\n-----END PRIVATE KEY-----")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			// sh's end is what counts: an mmbuild it left behind holds the
			// output pipe open, and is found below.
			cmd.WaitDelay = 2 * time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				for _, p := range testenv.Processes() { // whatever the step left running
					if strings.HasPrefix(p.Exe, in.BinDir+"/") || strings.Contains(p.Cmdline, "sleep 7777") {
						_ = syscall.Kill(p.PID, syscall.SIGKILL)
					}
				}
			})
			waitFor(t, filepath.Join(dir, "long-started"))
			if left, _ := os.ReadDir(runnerTemp); len(left) != 1 {
				t.Fatalf("RUNNER_TEMP holds %d files while mmbuild runs, want the key file", len(left))
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatalf("the step exited 0 after %v:\n%s", sig, out.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("the step did not end within 20 s of %v:\n%s", sig, out.String())
			}
			if left, _ := os.ReadDir(runnerTemp); len(left) > 0 {
				t.Errorf("RUNNER_TEMP holds %s after %v: the key file was not removed", left[0].Name(), sig)
			}
			if left := lingering(t, in.BinDir, "7777"); len(left) > 0 {
				t.Errorf("mmbuild or its build outlived the step's %v: %v", sig, left)
			}
		})
	}
}
