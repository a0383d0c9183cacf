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
// the local stack): when the token is the job's own repository's, mmbuild
// verify passes ci-identity; when it names another repository (a token
// taken from another job), the certificate verifies for its own identity
// but ci-identity fails in one line naming the repository.
func TestKeylessCIIdentity(t *testing.T) {
	s := testservers.StartSigstore(t)
	in := testenv.NewInstall(t)
	own := testservers.GitHubWorkflow{Repository: "octo-org/hello"}
	github := []string{
		"GITHUB_ACTIONS=true", "GITHUB_SERVER_URL=https://github.com", "GITHUB_REPOSITORY=octo-org/hello",
		"GITHUB_REPOSITORY_ID=1001", "GITHUB_REF=refs/heads/main", "GITHUB_SHA=" + strings.Repeat("a", 40),
		"GITHUB_WORKFLOW_REF=octo-org/hello/.github/workflows/build.yml@refs/heads/main", "GITHUB_EVENT_NAME=push",
		"GITHUB_RUN_ID=3003", "GITHUB_RUN_ATTEMPT=1", "RUNNER_ENVIRONMENT=github-hosted",
	}
	base := in.Env
	for _, tt := range []struct {
		name  string
		token testservers.GitHubWorkflow
		code  int
		want  string
	}{
		{name: "the job's own token", token: own, code: 0,
			want: "ci-identity           the certificate's CI job is the recorded one (platform, repository, repository id, ref, commit, run, runner, workflow agree)"},
		{name: "another repository's token", token: testservers.GitHubWorkflow{Repository: "evil-org/hello"}, code: 1,
			want: "verification failed: ci-identity (ci-identity: repository: the certificate says https://github.com/evil-org/hello, the statement records https://github.com/octo-org/hello"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := keylessHello(t)
			in.Env = append(append(append([]string(nil), base...), github...), "SIGSTORE_ID_TOKEN="+s.OIDC.GitHubToken(t, tt.token))
			defer func() { in.Env = base }()
			engineMustRun(t, in, dir, "plugins", "lock")
			engineMustRun(t, in, dir, "run", "--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot)
			r := in.Run(dir, "verify", "--attestation", filepath.Join(dir, "out/provenance.sigstore.json"),
				"--certificate-identity", tt.token.Identity(), "--certificate-oidc-issuer", s.OIDC.GitHubIssuer(),
				"--trusted-root", s.TrustedRoot, filepath.Join(dir, "dist/hello.tar.gz"))
			got := r.Stdout
			if tt.code != 0 {
				got = errorLine(t, r)
			}
			if r.Code != tt.code || !strings.Contains(got, tt.want) {
				t.Fatalf("mmbuild verify: exit %d, want %d and %q\nstdout:\n%s\nstderr:\n%s", r.Code, tt.code, tt.want, r.Stdout, r.Stderr)
			}
			if tt.code == 0 && !strings.Contains(r.Stdout, "ok       signature") {
				t.Fatalf("the signature did not verify:\n%s", r.Stdout)
			}
			if tt.code != 0 && !strings.Contains(r.Stdout, "ok       signature") {
				t.Fatalf("the other repository's certificate should verify for its own identity, only ci-identity fail:\n%s", r.Stdout)
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
