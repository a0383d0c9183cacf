package cifacts

import (
	"reflect"
	"testing"
)

func TestDetect(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    *Facts
		builder string
	}{
		{"a laptop", map[string]string{"HOME": "/home/u"}, nil, ""},
		{"GitHub variables without GitHub's marker are not GitHub", map[string]string{
			"GITHUB_REPOSITORY": "octo/app", "GITHUB_RUN_ID": "1", "CI": "true",
		}, &Facts{Platform: Generic}, ""},
		{"two platforms at once are neither", map[string]string{
			"GITHUB_ACTIONS": "true", "GITLAB_CI": "true", "GITHUB_REPOSITORY": "octo/app",
		}, &Facts{Platform: Generic}, ""},
		{"GitHub Actions, hosted", map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "octo/app",
			"GITHUB_REPOSITORY_ID": "42", "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": "abc",
			"GITHUB_WORKFLOW_REF": "octo/app/.github/workflows/build.yml@refs/heads/main", "GITHUB_EVENT_NAME": "push",
			"GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_JOB": "build", "RUNNER_ENVIRONMENT": "github-hosted",
		}, &Facts{Platform: GitHub, Server: "https://github.com", Repository: "octo/app", RepositoryID: "42",
			Ref: "refs/heads/main", Commit: "abc", Workflow: "octo/app/.github/workflows/build.yml@refs/heads/main",
			Event: "push", RunID: "7", RunAttempt: "2", JobID: "build",
			JobURL: "https://github.com/octo/app/actions/runs/7/attempts/2", RunnerKind: Hosted},
			"https://github.com/actions/runner/github-hosted"},
		{"GitLab CI, protected tag, gitlab.com's runner", map[string]string{
			"GITLAB_CI": "true", "CI_SERVER_URL": "https://gitlab.com", "CI_PROJECT_PATH": "grp/app", "CI_PROJECT_ID": "9",
			"CI_COMMIT_TAG": "v1.0", "CI_COMMIT_REF_NAME": "v1.0", "CI_COMMIT_REF_PROTECTED": "true", "CI_COMMIT_SHA": "def",
			"CI_CONFIG_PATH": ".gitlab-ci.yml", "CI_PIPELINE_SOURCE": "push", "CI_PIPELINE_ID": "100", "CI_JOB_ID": "200",
			"CI_JOB_URL": "https://gitlab.com/grp/app/-/jobs/200", "CI_RUNNER_ID": "12", "CI_RUNNER_TAGS": `["saas-linux-small-amd64"]`,
		}, &Facts{Platform: GitLab, Server: "https://gitlab.com", Repository: "grp/app", RepositoryID: "9",
			Ref: "refs/tags/v1.0", RefProtected: &yes, Commit: "def", Workflow: ".gitlab-ci.yml", Event: "push",
			RunID: "100", JobID: "200", JobURL: "https://gitlab.com/grp/app/-/jobs/200", RunnerKind: Hosted, RunnerID: "12"},
			"https://gitlab.com/gitlab-org/gitlab-runner/hosted"},
		{"Jenkins", map[string]string{
			"JENKINS_URL": "https://ci.example.com/", "BUILD_URL": "https://ci.example.com/job/app/3/", "JOB_NAME": "app",
			"BUILD_NUMBER": "3", "GIT_BRANCH": "origin/main", "GIT_COMMIT": "f00", "NODE_NAME": "agent-1",
		}, &Facts{Platform: Jenkins, Server: "https://ci.example.com", Repository: "app", Ref: "refs/heads/main",
			Commit: "f00", RunID: "3", JobURL: "https://ci.example.com/job/app/3/", RunnerKind: SelfHosted, RunnerID: "agent-1"},
			"https://ci.example.com/jenkins/agent/self-hosted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Detect(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Detect = %+v\nwant     %+v", got, tc.want)
			}
			if b := got.BuilderID(); b != tc.builder {
				t.Errorf("BuilderID = %q, want %q", b, tc.builder)
			}
		})
	}
}
