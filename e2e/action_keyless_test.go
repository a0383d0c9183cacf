package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// The action's run step with keyless: "true", as GitHub runs it in a job
// with "permissions: id-token: write": mmbuild asks the job's token
// service (ACTIONS_ID_TOKEN_REQUEST_URL, here the local stack's OIDC
// issuer) for a token of audience sigstore and signs examples/hello
// keylessly; the bundle verifies for the job's identity. A keyless input
// other than true or false stops the step before mmbuild runs.
func TestGitHubActionKeyless(t *testing.T) {
	t.Parallel()
	s := testservers.StartSigstore(t)
	in := testenv.NewInstall(t)
	dir := testenv.Example(t, "hello")
	engineMustRun(t, in, dir, "plugins", "lock")
	runner := t.TempDir()
	writeFiles(t, runner, map[string]string{"GITHUB_OUTPUT": ""})
	run := filepath.Join(testenv.Root(), "ci", "github", "run.sh")
	env := append([]string{"PATH=" + in.BinDir + ":" + os.Getenv("PATH"), "HOME=" + in.Home, "LANG=C", "RUNNER_TEMP=" + runner,
		"GITHUB_OUTPUT=" + filepath.Join(runner, "GITHUB_OUTPUT"),
		"MMBUILD_RUN_ARGS=--signing-config " + s.SigningConfig + " --trusted-root " + s.TrustedRoot},
		s.OIDC.GitHubActionsEnv(t, keylessWho)...)

	log := ghStep(t, dir, append(env, "MMBUILD_KEYLESS=true"), run)
	r := engineMustRun(t, in, dir, "verify", "--attestation", filepath.Join(dir, "out", "provenance.sigstore.json"),
		"--certificate-identity", keylessWho, "--certificate-oidc-issuer", s.Issuer(), "--trusted-root", s.TrustedRoot,
		filepath.Join(dir, "dist", "hello.tar.gz"))
	if !strings.Contains(r.Stdout, "certificate for "+keylessWho) {
		t.Fatalf("the action's build is not signed keylessly by the job's identity:\n%s\n%s", r.Stdout, log)
	}

	if err := os.RemoveAll(filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", run)
	cmd.Dir, cmd.Env = dir, append(env, "MMBUILD_KEYLESS=yes")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `keyless is "yes"`) || exists(filepath.Join(dir, "out")) {
		t.Fatalf("keyless: yes was taken (%v):\n%s", err, out)
	}
}
