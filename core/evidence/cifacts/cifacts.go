package cifacts

import (
	"net/url"
	"strings"
)

// Platforms, as recorded.
const (
	GitHub  = "github"
	GitLab  = "gitlab"
	Jenkins = "jenkins"
	// Generic is a CI (CI=true) that is none of the above, or more than
	// one of them at once: nothing else is read.
	Generic = "generic"
)

// Runner kinds, as recorded.
const (
	Hosted     = "hosted"      // the platform's own runners
	SelfHosted = "self-hosted" // runners the project's owner runs
)

// Facts are the CI job's facts. Every field but Platform may be empty.
type Facts struct {
	Platform     string `json:"platform"`
	Server       string `json:"server,omitempty"`       // https://github.com, https://gitlab.example.com, the Jenkins URL
	Repository   string `json:"repository,omitempty"`   // owner/name, group/project, the Jenkins job
	RepositoryID string `json:"repositoryId,omitempty"` // the platform's immutable id of it
	Ref          string `json:"ref,omitempty"`          // refs/heads/main, refs/tags/v1
	// RefProtected is whether the platform protects the ref (GitLab); nil
	// when the platform does not say.
	RefProtected *bool  `json:"refProtected,omitempty"`
	Commit       string `json:"commit,omitempty"`
	Workflow     string `json:"workflow,omitempty"` // GitHub's workflow ref, GitLab's CI config path
	Event        string `json:"event,omitempty"`    // push, pull_request, merge_request_event, schedule…
	RunID        string `json:"runId,omitempty"`    // GitHub run, GitLab pipeline, Jenkins build number
	RunAttempt   string `json:"runAttempt,omitempty"`
	JobID        string `json:"jobId,omitempty"`
	JobURL       string `json:"jobUrl,omitempty"`
	RunnerKind   string `json:"runnerKind,omitempty"` // hosted or self-hosted, when the platform says
	RunnerID     string `json:"runnerId,omitempty"`
}

// Detect reads the facts of the CI job lookup's environment is in; nil
// when it is in none (a laptop).
func Detect(lookup func(string) (string, bool)) *Facts {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	github := get("GITHUB_ACTIONS") == "true"
	gitlab := get("GITLAB_CI") == "true"
	jenkins := get("JENKINS_URL") != "" && get("BUILD_URL") != ""
	n := 0
	for _, on := range []bool{github, gitlab, jenkins} {
		if on {
			n++
		}
	}
	switch {
	case n > 1:
		return &Facts{Platform: Generic}
	case github:
		return detectGitHub(get)
	case gitlab:
		return detectGitLab(get)
	case jenkins:
		return detectJenkins(get)
	case get("CI") != "" && get("CI") != "false" && get("CI") != "0":
		return &Facts{Platform: Generic}
	}
	return nil
}

func detectGitHub(get func(string) string) *Facts {
	f := &Facts{
		Platform: GitHub, Server: get("GITHUB_SERVER_URL"), Repository: get("GITHUB_REPOSITORY"),
		RepositoryID: get("GITHUB_REPOSITORY_ID"), Ref: get("GITHUB_REF"), Commit: get("GITHUB_SHA"),
		Workflow: get("GITHUB_WORKFLOW_REF"), Event: get("GITHUB_EVENT_NAME"), RunID: get("GITHUB_RUN_ID"),
		RunAttempt: get("GITHUB_RUN_ATTEMPT"), JobID: get("GITHUB_JOB"),
	}
	if f.Server == "" {
		f.Server = "https://github.com"
	}
	if f.Repository != "" && f.RunID != "" {
		f.JobURL = f.Server + "/" + f.Repository + "/actions/runs/" + f.RunID
		if f.RunAttempt != "" {
			f.JobURL += "/attempts/" + f.RunAttempt
		}
	}
	switch get("RUNNER_ENVIRONMENT") {
	case "github-hosted":
		f.RunnerKind = Hosted
	case "self-hosted":
		f.RunnerKind = SelfHosted
	}
	return f
}

func detectGitLab(get func(string) string) *Facts {
	f := &Facts{
		Platform: GitLab, Server: get("CI_SERVER_URL"), Repository: get("CI_PROJECT_PATH"),
		RepositoryID: get("CI_PROJECT_ID"), Commit: get("CI_COMMIT_SHA"), Workflow: get("CI_CONFIG_PATH"),
		Event: get("CI_PIPELINE_SOURCE"), RunID: get("CI_PIPELINE_ID"), JobID: get("CI_JOB_ID"),
		JobURL: get("CI_JOB_URL"), RunnerID: get("CI_RUNNER_ID"),
	}
	switch {
	case get("CI_COMMIT_TAG") != "":
		f.Ref = "refs/tags/" + get("CI_COMMIT_TAG")
	case get("CI_COMMIT_BRANCH") != "":
		f.Ref = "refs/heads/" + get("CI_COMMIT_BRANCH")
	case get("CI_COMMIT_REF_NAME") != "":
		f.Ref = get("CI_COMMIT_REF_NAME")
	}
	switch get("CI_COMMIT_REF_PROTECTED") {
	case "true":
		f.RefProtected = ptr(true)
	case "false":
		f.RefProtected = ptr(false)
	}
	// GitLab.com's own runners carry saas-* tags; any other runner is the
	// project's or its instance's own.
	if f.RunnerID != "" {
		f.RunnerKind = SelfHosted
		if host(f.Server) == "gitlab.com" {
			for _, tag := range strings.Split(get("CI_RUNNER_TAGS"), ",") {
				if strings.HasPrefix(strings.Trim(strings.TrimSpace(tag), `[]"`), "saas-") {
					f.RunnerKind = Hosted
				}
			}
		}
	}
	return f
}

func detectJenkins(get func(string) string) *Facts {
	f := &Facts{
		Platform: Jenkins, Server: strings.TrimSuffix(get("JENKINS_URL"), "/"), Repository: get("JOB_NAME"),
		Commit: get("GIT_COMMIT"), RunID: get("BUILD_NUMBER"), JobURL: get("BUILD_URL"),
		RunnerID: get("NODE_NAME"), RunnerKind: SelfHosted,
	}
	if b := get("GIT_BRANCH"); b != "" {
		f.Ref = "refs/heads/" + strings.TrimPrefix(b, "origin/")
	}
	return f
}

// BuilderID is the builder.id the facts name: the platform's runner of
// that kind, as GitHub's own provenance names it; "" for a generic CI.
func (f *Facts) BuilderID() string {
	if f == nil {
		return ""
	}
	kind := f.RunnerKind
	if kind == "" {
		kind = "unknown"
	}
	switch f.Platform {
	case GitHub:
		runner := kind
		if kind == Hosted {
			runner = "github-hosted" // the name GitHub's provenance uses
		}
		return f.Server + "/actions/runner/" + runner
	case GitLab:
		if f.Server != "" {
			return f.Server + "/gitlab-org/gitlab-runner/" + kind
		}
	case Jenkins:
		if f.Server != "" {
			return f.Server + "/jenkins/agent/" + kind
		}
	}
	return ""
}

func host(server string) string {
	u, err := url.Parse(server)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func ptr[T any](v T) *T { return &v }
