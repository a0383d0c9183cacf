package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// TestKeylessCIIdentity builds examples/hello keylessly as a GitHub Actions
// job (GITHUB_ACTIONS=true and GitHub's variables set, a GitHub token from
// the local stack) and as a GitLab CI job (GITLAB_CI=true, GitLab's
// variables, a GitLab token): when the token is the job's own, mmbuild
// verify passes ci-identity; when it names another repository or ref (a
// token taken from another job), the certificate verifies for its own
// identity but ci-identity fails in one line naming the field.
func TestKeylessCIIdentity(t *testing.T) {
	t.Parallel()
	s := testservers.StartSigstore(t)
	in := testenv.NewInstall(t)
	github := []string{
		"GITHUB_ACTIONS=true", "GITHUB_SERVER_URL=https://github.com", "GITHUB_REPOSITORY=octo-org/hello",
		"GITHUB_REPOSITORY_ID=1001", "GITHUB_REF=refs/heads/main", "GITHUB_SHA=" + strings.Repeat("a", 40),
		"GITHUB_WORKFLOW_REF=octo-org/hello/.github/workflows/build.yml@refs/heads/main", "GITHUB_EVENT_NAME=push",
		"GITHUB_RUN_ID=3003", "GITHUB_RUN_ATTEMPT=1", "RUNNER_ENVIRONMENT=github-hosted",
	}
	gitlab := []string{
		"GITLAB_CI=true", "CI_SERVER_URL=https://gitlab.com", "CI_PROJECT_PATH=octo-group/hello", "CI_PROJECT_ID=4004",
		"CI_COMMIT_BRANCH=main", "CI_COMMIT_SHA=" + strings.Repeat("b", 40), "CI_CONFIG_PATH=.gitlab-ci.yml",
		"CI_PIPELINE_SOURCE=push", "CI_PIPELINE_ID=6006", "CI_JOB_ID=7007", "CI_JOB_URL=https://gitlab.com/octo-group/hello/-/jobs/7007",
		"CI_RUNNER_ID=12", "CI_RUNNER_TAGS=saas-linux-small-amd64",
	}
	ghJob := func(w testservers.GitHubWorkflow) (token, identity, issuer string) {
		return s.OIDC.GitHubToken(t, w), w.Identity(), s.OIDC.GitHubIssuer()
	}
	glJob := func(p testservers.GitLabPipeline) (token, identity, issuer string) {
		return s.OIDC.GitLabToken(t, p), p.Identity(), s.OIDC.GitLabIssuer()
	}
	base := in.Env
	for _, tt := range []struct {
		name string
		env  []string
		job  func() (token, identity, issuer string)
		code int
		want string
	}{
		{name: "github: the job's own token", env: github, job: func() (string, string, string) {
			return ghJob(testservers.GitHubWorkflow{Repository: "octo-org/hello"})
		}, want: "ci-identity           the certificate's CI job is the recorded one (platform, repository, repository id, ref, commit, run, runner, workflow agree)"},
		{name: "github: another repository's token", env: github, job: func() (string, string, string) {
			return ghJob(testservers.GitHubWorkflow{Repository: "evil-org/hello"})
		}, code: 1, want: "verification failed: ci-identity (ci-identity: repository: the certificate says https://github.com/evil-org/hello, the statement records https://github.com/octo-org/hello"},
		{name: "gitlab: the job's own token", env: gitlab, job: func() (string, string, string) {
			return glJob(testservers.GitLabPipeline{ProjectPath: "octo-group/hello"})
		}, want: "ci-identity           the certificate's CI job is the recorded one (platform, repository, repository id, ref, commit, run, runner agree)"},
		{name: "gitlab: another ref's token", env: gitlab, job: func() (string, string, string) {
			return glJob(testservers.GitLabPipeline{ProjectPath: "octo-group/hello", Ref: "dev"})
		}, code: 1, want: "verification failed: ci-identity (ci-identity: ref: the certificate says refs/heads/dev, the statement records refs/heads/main)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := keylessHello(t)
			token, identity, issuer := tt.job()
			in.Env = append(append(append([]string(nil), base...), tt.env...), "SIGSTORE_ID_TOKEN="+token)
			defer func() { in.Env = base }()
			engineMustRun(t, in, dir, "plugins", "lock")
			engineMustRun(t, in, dir, "run", "--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot)
			r := in.Run(dir, "verify", "--attestation", filepath.Join(dir, "out/provenance.sigstore.json"),
				"--certificate-identity", identity, "--certificate-oidc-issuer", issuer,
				"--trusted-root", s.TrustedRoot, filepath.Join(dir, "dist/hello.tar.gz"))
			got := r.Stdout
			if tt.code != 0 {
				got = errorLine(t, r)
			}
			if r.Code != tt.code || !strings.Contains(got, tt.want) {
				t.Fatalf("mmbuild verify: exit %d, want %d and %q\nstdout:\n%s\nstderr:\n%s", r.Code, tt.code, tt.want, r.Stdout, r.Stderr)
			}
			// Either way the certificate verifies for its own identity:
			// only ci-identity may fail.
			if !strings.Contains(r.Stdout, "ok       signature") {
				t.Fatalf("the signature did not verify:\n%s", r.Stdout)
			}
		})
	}
}

// keylessHello is a copy of examples/hello signed keylessly.
func keylessHello(t *testing.T) string {
	t.Helper()
	dir := testenv.Example(t, "hello")
	cfg := filepath.Join(dir, "mmbuild.yaml")
	if err := os.WriteFile(cfg, append(mustRead(t, cfg), []byte("signing: {keyless: true}\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
