package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// platformEnv are a CI job's variables on each platform, as the platform
// sets them.
var platformEnv = map[string][]string{
	"github": {"GITHUB_ACTIONS=true", "GITHUB_SERVER_URL=https://github.com", "GITHUB_REPOSITORY=octo/app",
		"GITHUB_REPOSITORY_ID=42", "GITHUB_REF=refs/heads/main", "GITHUB_SHA=0123", "GITHUB_RUN_ID=7",
		"GITHUB_RUN_ATTEMPT=1", "GITHUB_WORKFLOW_REF=octo/app/.github/workflows/build.yml@refs/heads/main",
		"GITHUB_EVENT_NAME=push", "RUNNER_ENVIRONMENT=github-hosted"},
	"gitlab": {"GITLAB_CI=true", "CI=true", "CI_SERVER_URL=https://gitlab.example.com", "CI_PROJECT_PATH=grp/app",
		"CI_PROJECT_ID=9", "CI_COMMIT_BRANCH=main", "CI_COMMIT_REF_NAME=main", "CI_COMMIT_REF_PROTECTED=true",
		"CI_PIPELINE_ID=100", "CI_JOB_ID=200", "CI_JOB_URL=https://gitlab.example.com/grp/app/-/jobs/200",
		"CI_RUNNER_ID=12", "CI_PIPELINE_SOURCE=push"},
	"jenkins": {"JENKINS_URL=https://ci.example.com/", "BUILD_URL=https://ci.example.com/job/app/3/",
		"JOB_NAME=app", "BUILD_NUMBER=3", "GIT_BRANCH=origin/main", "NODE_NAME=agent-1"},
}

// The provenance says which CI job made it, from the platform's own
// variables, where each SLSA version puts it: builder.id (the platform's
// runner), and the typed facts in buildConfig (v0.2) or internalParameters
// (v1). A policy can require a platform, a project and a protected ref.
func TestCIFactsInProvenance(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir := lockedProject(t, in, "")
	engineMustRun(t, in, dir, "keys", "generate", "--out", filepath.Join(dir, "ci"))
	base := append([]string(nil), in.Env...)
	statement := func(platform, slsa string, extra ...string) map[string]any {
		t.Helper()
		in.Env = append(append(append([]string(nil), base...), platformEnv[platform]...), extra...)
		in.MustRun(dir, "run", "--force", "--slsa", slsa, "--sign-key", filepath.Join(dir, "ci.key"))
		var st map[string]any
		if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "out", "provenance.json")), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, tc := range []struct {
		platform, builder, repository, jobURL string
	}{
		{"github", "https://github.com/actions/runner/github-hosted", "octo/app", "https://github.com/octo/app/actions/runs/7/attempts/1"},
		{"gitlab", "https://gitlab.example.com/gitlab-org/gitlab-runner/self-hosted", "grp/app", "https://gitlab.example.com/grp/app/-/jobs/200"},
		{"jenkins", "https://ci.example.com/jenkins/agent/self-hosted", "app", "https://ci.example.com/job/app/3/"},
	} {
		for _, slsa := range []string{"v0.2", "v1"} {
			t.Run(tc.platform+"/"+slsa, func(t *testing.T) {
				pred := statement(tc.platform, slsa)["predicate"].(map[string]any)
				var builder string
				var facts map[string]any
				if slsa == "v1" {
					builder = dig(pred, "runDetails", "builder", "id").(string)
					facts, _ = dig(pred, "buildDefinition", "internalParameters", "ci").(map[string]any)
				} else {
					builder = dig(pred, "builder", "id").(string)
					facts, _ = dig(pred, "buildConfig", "ci").(map[string]any)
				}
				if builder != tc.builder {
					t.Errorf("builder.id %q, want %q", builder, tc.builder)
				}
				if facts["platform"] != tc.platform || facts["repository"] != tc.repository || facts["jobUrl"] != tc.jobURL {
					t.Errorf("recorded CI facts %v, want platform %s, repository %s, job %s", facts, tc.platform, tc.repository, tc.jobURL)
				}
			})
		}
	}

	policy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policy, []byte("keys: ["+filepath.Join(dir, "ci.pub")+"]\n"+
		"ci: {platform: gitlab, repository: grp/app, refs: [refs/heads/main], protected: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	verify := func() testenv.Result {
		return in.Run(dir, "verify", "--policy", policy, "--attestation", filepath.Join(dir, "out", "provenance.intoto.jsonl"), filepath.Join(dir, "dist", "data.out"))
	}
	statement("gitlab", "v1")
	if r := verify(); r.Code != 0 {
		t.Errorf("a protected-branch GitLab build failed the policy:\n%s%s", r.Stdout, r.Stderr)
	}
	for name, extra := range map[string][]string{
		"an unprotected ref":      {"CI_COMMIT_REF_PROTECTED=false"},
		"another project":         {"CI_PROJECT_PATH=grp/other"},
		"another branch":          {"CI_COMMIT_BRANCH=feature"},
		"GitHub, not GitLab":      nil,
		"no CI at all (a laptop)": {},
	} {
		platform := "gitlab"
		switch name {
		case "GitHub, not GitLab":
			platform = "github"
		case "no CI at all (a laptop)":
			platform = "none"
		}
		statement(platform, "v1", extra...)
		if r := verify(); r.Code == 0 || !strings.Contains(r.Stdout, "FAIL     policy:ci-") {
			t.Errorf("%s passed the GitLab policy (exit %d):\n%s", name, r.Code, r.Stdout)
		}
	}
}

// dig walks nested JSON objects.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
