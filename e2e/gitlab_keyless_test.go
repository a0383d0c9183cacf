package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// The GitLab template's .mmbuild-keyless job under gitlab-ci-local:
// examples/hello signed keylessly against the local Sigstore stack, with
// the job's ID token where GitLab's id_tokens: puts it
// ($SIGSTORE_ID_TOKEN; gitlab-ci-local mints none, so the test hands it
// over as a CI/CD variable). The bundle the job leaves verifies for the
// token's identity, and the token is in no job log nor output.
func TestGitLabTemplateKeyless(t *testing.T) {
	t.Parallel()
	gcl := testservers.GitLabCILocal(t)
	testservers.Tool(t, "rsync")
	s := testservers.StartSigstore(t)
	in := testenv.NewInstall(t)
	release, pin := ciRelease(t, in)
	releaseServer := testservers.NewHTTPServer(t, release)
	templates := testservers.NewHTTPServer(t, filepath.Join(testenv.Root(), "ci", "gitlab"))

	repo := testenv.Example(t, "hello")
	engineMustRun(t, in, repo, "plugins", "lock")
	writeFiles(t, repo, map[string]string{".gitlab-ci.yml": `include:
  - remote: ` + templates.URL + `/mmbuild.gitlab-ci.yml
hello:
  extends: .mmbuild-keyless
  variables:
    MMBUILD_RUN_ARGS: "--signing-config ` + s.SigningConfig + ` --trusted-root ` + s.TrustedRoot + `"
`})
	ciCommit(t, repo)
	// The example ignores its lock (each user locks their own plugins); a
	// CI checkout needs it committed.
	ciGit(t, repo, "add", "-f", "mmbuild.lock.hcl")
	ciGit(t, repo, "commit", "-q", "-m", "the lock")
	writeFiles(t, repo, map[string]string{".git/info/exclude": "/.gitlab-ci-reports/\n"})

	token := s.Token(t, keylessWho)
	vars := t.TempDir()
	var yml strings.Builder
	for k, v := range map[string]string{
		"MMBUILD_SHA256SUMS":  pin,
		"MMBUILD_RELEASE_URL": releaseServer.URL,
		"MMBUILD_INSTALL_DIR": filepath.Join(t.TempDir(), "mmbuild"),
		"SIGSTORE_ID_TOKEN":   token,
	} {
		yml.WriteString(k + ":\n  type: variable\n  values:\n    '*': '" + v + "'\n")
	}
	writeFiles(t, vars, map[string]string{"variables.yml": yml.String()})
	rel, err := filepath.Rel(repo, filepath.Join(vars, "variables.yml"))
	if err != nil {
		t.Fatal(err)
	}
	log := runGitLabCILocal(t, gcl, repo, rel)
	if !strings.Contains(log, "PASS  hello") || strings.Contains(log, token) {
		t.Fatalf("the keyless job failed, or printed its token:\n%s", log)
	}
	job := filepath.Join(repo, ".gitlab-ci-local", "builds", "hello")
	r := engineMustRun(t, in, job, "verify", "--attestation", filepath.Join(job, "out", "provenance.sigstore.json"),
		"--certificate-identity", keylessWho, "--certificate-oidc-issuer", s.Issuer(), "--trusted-root", s.TrustedRoot,
		filepath.Join(job, "dist", "hello.tar.gz"))
	if !strings.Contains(r.Stdout, "certificate for "+keylessWho) {
		t.Fatalf("verify:\n%s", r.Stdout)
	}
	if leaked := engineFilesContaining(t, token, filepath.Join(job, "out"), filepath.Join(repo, ".gitlab-ci-local", "artifacts")); len(leaked) > 0 {
		t.Fatalf("the token was written to %v", leaked)
	}
}
