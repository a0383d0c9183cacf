package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// The include line of examples/pipeline/.gitlab-ci.yml, which the test
// points at a loopback copy of ci/gitlab/.
const gitlabTemplateInclude = "https://raw.githubusercontent.com/mmbuild/mmbuild/v0.1.0/ci/gitlab/mmbuild.gitlab-ci.yml"

// ciRelease lays out a release of the install's binaries with
// ci/release.sh, as a release is made, and returns its folder and the pin
// of its SHA256SUMS (what MMBUILD_SHA256SUMS holds in a CI config).
func ciRelease(t *testing.T, in *testenv.Install) (dir, pin string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "release")
	out, err := exec.Command(filepath.Join(testenv.Root(), "ci", "release.sh"), in.BinDir, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("ci/release.sh: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	pin, ok := strings.CutPrefix(lines[len(lines)-1], "MMBUILD_SHA256SUMS=")
	if !ok || pin != sha256Hex(t, mustRead(t, filepath.Join(dir, "SHA256SUMS"))) {
		t.Fatalf("ci/release.sh's last line is not the pin of SHA256SUMS:\n%s", out)
	}
	return dir, pin
}

// The GitLab template run by a GitLab runner emulation: examples/pipeline's
// .gitlab-ci.yml under gitlab-ci-local (shell executor, each job in its own
// copy of the repository), the template included over HTTP, mmbuild
// installed by each job from a release checked against its pin, a real S3
// server as the only store the jobs share, the signing key a CI/CD
// variable of type File. The server job's mmbuild run reads the webapp
// job's dotenv report and accepts its material only under the webapp job's
// signed attestation, checked with the committed public key.
func TestGitLabTemplatePipeline(t *testing.T) {
	t.Parallel()
	gcl := testservers.GitLabCILocal(t)
	testservers.Tool(t, "rsync") // gitlab-ci-local copies each job's repository with it
	in := testenv.NewInstall(t)
	s3 := testservers.StartS3(t)
	s3.CreateBucket(t, "pipeline-store")
	release, pin := ciRelease(t, in)
	releaseServer := testservers.NewHTTPServer(t, release)
	templates := testservers.NewHTTPServer(t, filepath.Join(testenv.Root(), "ci", "gitlab"))

	// The repository: the example as its root; the private key goes to the
	// CI/CD variables only.
	repo, privateKey := ciExample(t, in)
	ciFile := filepath.Join(repo, ".gitlab-ci.yml")
	writeFiles(t, repo, map[string]string{".gitlab-ci.yml": howtoReplace(t, string(mustRead(t, ciFile)), gitlabTemplateInclude, templates.URL+"/mmbuild.gitlab-ci.yml")})
	ciCommit(t, repo)
	// gitlab-ci-local leaves the reports it hands over in each later job's
	// copy (.gitlab-ci-reports/), where a GitLab checkout has nothing: that
	// folder is no change of the work tree.
	writeFiles(t, repo, map[string]string{".git/info/exclude": "/.gitlab-ci-reports/\n"})

	// The project's CI/CD variables, as gitlab-ci-local reads them.
	secrets := t.TempDir()
	vars := map[string]string{
		"MMBUILD_STORE":       "s3://pipeline-store/pipeline",
		"MMBUILD_SHA256SUMS":  pin,
		"MMBUILD_RELEASE_URL": releaseServer.URL,
		"MMBUILD_INSTALL_DIR": filepath.Join(t.TempDir(), "mmbuild"),
	}
	for k, v := range s3.Env() {
		vars[k] = v
	}
	var yml strings.Builder
	for k, v := range vars {
		// type: variable, or gitlab-ci-local makes a value that looks like
		// a path a File variable.
		yml.WriteString(k + ":\n  type: variable\n  values:\n    '*': '" + v + "'\n")
	}
	yml.WriteString("MMBUILD_SIGNING_KEY_FILE:\n  type: file\n  values:\n    '*': |\n")
	for _, l := range strings.Split(strings.TrimSpace(privateKey), "\n") {
		yml.WriteString("      " + l + "\n")
	}
	varsFile := filepath.Join(secrets, "variables.yml")
	writeFiles(t, secrets, map[string]string{"variables.yml": yml.String()})
	// gitlab-ci-local reads --variables-file relative to the repository;
	// outside it, the private key is in no job's copy of the repository.
	relVars, err := filepath.Rel(repo, varsFile)
	if err != nil {
		t.Fatal(err)
	}

	// gitlab-ci-local 4.62.0 writes File variables to
	// /tmp/gitlab-ci-local-file-variables-*, and its clean-up looks under
	// another name: remove the folders holding this test's key.
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/tmp/gitlab-ci-local-file-variables-*")
		for _, d := range dirs {
			if b, err := os.ReadFile(filepath.Join(d, "MMBUILD_SIGNING_KEY_FILE")); err == nil && strings.TrimSpace(string(b)) == strings.TrimSpace(privateKey) {
				_ = os.RemoveAll(d)
			}
		}
	})
	log := runGitLabCILocal(t, gcl, repo, relVars)
	for _, w := range []string{"PASS  webapp", "PASS  server", "mmbuild install: mmbuild v0.1.0 sha256:", "upstream attestation verified"} {
		if !strings.Contains(log, w) {
			t.Errorf("the pipeline's log lacks %q", w)
		}
	}
	if strings.Contains(log, "uncommitted changes") {
		t.Error("a job built from a dirty work tree: its build cannot be reused")
	}
	if strings.Contains(log, strings.TrimSpace(privateKey)) || strings.Contains(log, "BEGIN PRIVATE KEY") {
		t.Error("the private key reached the job log")
	}

	// Each job in its own copy of the repository, with its own dotenv.
	builds := filepath.Join(repo, ".gitlab-ci-local", "builds")
	webappEnv := readDotenv(t, filepath.Join(builds, "webapp", "mmbuild.env"))
	serverEnv := readDotenv(t, filepath.Join(builds, "server", "mmbuild.env"))
	for name, env := range map[string]map[string]string{"webapp": webappEnv, "server": serverEnv} {
		if !strings.HasPrefix(env["MMBUILD_STAGING_URL"], "s3://pipeline-store/pipeline/"+name+"/") {
			t.Fatalf("%s job's dotenv report: %v", name, env)
		}
	}
	inStore := func(url string) string {
		return filepath.Join(s3.Dir, "pipeline-store", strings.TrimPrefix(url, "s3://pipeline-store/"))
	}
	webappTar := mustRead(t, inStore(webappEnv["MMBUILD_STAGING_URL"]+"/webapp.tar.gz"))
	for _, f := range []string{"provenance.json", "provenance.intoto.jsonl"} {
		if !exists(inStore(webappEnv["MMBUILD_STAGING_URL"] + "/" + f)) {
			t.Errorf("webapp: no %s in the store", f)
		}
	}
	if !exists(inStore(serverEnv["MMBUILD_STAGING_URL"] + "/server.tar.gz")) {
		t.Error("server: no server.tar.gz in the store")
	}

	// The server job took webapp's artifact from the store, by the URL the
	// dotenv report handed over, with the digest the signed attestation
	// has for it.
	st := engineReadStatement(t, filepath.Join(builds, "server", "server", "out", "provenance.json"))
	d, ok := st.material(webappEnv["MMBUILD_STAGING_URL"] + "/webapp.tar.gz")
	if !ok || d["sha256"] != sha256Hex(t, webappTar) {
		t.Errorf("server attestation's material for webapp.tar.gz: %v (found %v), the store has sha256 %s", d, ok, sha256Hex(t, webappTar))
	}
	bundle := filepath.Join(builds, "webapp", "webapp", "out", "provenance.intoto.jsonl")
	tarPath := filepath.Join(t.TempDir(), "webapp.tar.gz")
	writeFiles(t, filepath.Dir(tarPath), map[string]string{"webapp.tar.gz": string(webappTar)})
	engineMustRun(t, in, repo, "verify", tarPath, "--attestation", bundle, "--key", filepath.Join(repo, "keys", "demo.pub"))

	// Nothing but the dotenv report went to GitLab's artifact store.
	var stored []string
	_ = filepath.Walk(filepath.Join(repo, ".gitlab-ci-local", "artifacts"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			stored = append(stored, p)
		}
		return nil
	})
	for _, p := range stored {
		if filepath.Base(p) != "mmbuild.env" {
			t.Errorf("uploaded to the CI's artifact store: %s", p)
		}
	}
	if keys := engineFilesNamed(t, repo, "demo.key"); keys != nil {
		t.Errorf("a private key is in the repository or a job's copy: %v", keys)
	}

	// The pipeline again, as a retried one on other runners: both jobs
	// find their complete, verified build in the store and reuse it.
	again := runGitLabCILocal(t, gcl, repo, relVars)
	for _, job := range []map[string]string{webappEnv, serverEnv} {
		if !strings.Contains(again, "cached build reused: "+job["MMBUILD_STAGING_URL"]) {
			t.Errorf("the second pipeline did not reuse %s", job["MMBUILD_STAGING_URL"])
		}
	}
}

// runGitLabCILocal runs the pipeline of repo under gitlab-ci-local with the
// shell executor, each job in its own copy of the repository, and returns
// its log, failing the test if a job failed.
func runGitLabCILocal(t *testing.T, gcl, repo, varsFile string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gcl, "--shell-isolation", "--variables-file", varsFile)
	cmd.Dir = repo
	// No mmbuild on PATH, no AWS setup: the jobs get what GitLab would give
	// them, their CI/CD variables.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir(), "LANG=C", "NO_COLOR=1", "FORCE_COLOR=0"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	log := regexp.MustCompile(`\x1b\[[0-9;]*m`).ReplaceAllString(out.String(), "")
	t.Logf("gitlab-ci-local %s ran the pipeline in %s", testservers.GitLabCILocalVersion, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("gitlab-ci-local: %v\n%s", err, log)
	}
	if testing.Verbose() {
		t.Logf("pipeline log:\n%s", log)
	}
	return log
}
