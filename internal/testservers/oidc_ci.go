package testservers

import (
	"strings"
	"testing"
)

// The CI issuers of an OIDCIssuer live below its URL: Fulcio trusts them as
// GitHub Actions and GitLab CI are trusted by the public-good instance (its
// "ci-provider" types github-workflow and gitlab-pipeline), so their
// certificates carry the workflow's identity and Fulcio's CI extensions.
const (
	githubIssuerPath = "/github"
	gitlabIssuerPath = "/gitlab"
)

// GitHubIssuer is the URL of the issuer of GitHub Actions-style tokens
// (o.URL+"/github"): the OIDC issuer of their certificates.
func (o *OIDCIssuer) GitHubIssuer() string { return o.URL + githubIssuerPath }

// GitLabIssuer is the URL of the issuer of GitLab CI-style tokens
// (o.URL+"/gitlab"): the OIDC issuer of their certificates.
func (o *OIDCIssuer) GitLabIssuer() string { return o.URL + gitlabIssuerPath }

// GitHubWorkflow is the GitHub Actions job a token is for. Empty fields take
// the defaults named.
type GitHubWorkflow struct {
	Repository string // "owner/name"; default "octo-org/hello"
	Ref        string // default "refs/heads/main"
	Workflow   string // the workflow file in the repository; default ".github/workflows/build.yml"
	Name       string // the workflow's name; default "build"
	SHA        string // the commit; default 40 × "a"
	EventName  string // default "push"
}

func (w GitHubWorkflow) withDefaults() GitHubWorkflow {
	orDefault(&w.Repository, "octo-org/hello")
	orDefault(&w.Ref, "refs/heads/main")
	orDefault(&w.Workflow, ".github/workflows/build.yml")
	orDefault(&w.Name, "build")
	orDefault(&w.SHA, strings.Repeat("a", 40))
	orDefault(&w.EventName, "push")
	return w
}

// Identity is the certificate identity (URI SAN) Fulcio gives the workflow:
// https://github.com/OWNER/REPO/.github/workflows/FILE@REF, what cosign's
// --certificate-identity names.
func (w GitHubWorkflow) Identity() string {
	w = w.withDefaults()
	return "https://github.com/" + w.Repository + "/" + w.Workflow + "@" + w.Ref
}

// WithGitHubWorkflow makes the token a GitHub Actions job's: issued by
// GitHubIssuer, with GitHub's claims (repository, ref, sha, workflow,
// job_workflow_ref, event_name, run_id, ...) and no email. The email
// argument of Token is ignored.
func WithGitHubWorkflow(w GitHubWorkflow) TokenOption {
	w = w.withDefaults()
	owner, _, _ := strings.Cut(w.Repository, "/")
	workflowRef := w.Repository + "/" + w.Workflow + "@" + w.Ref
	refType := "branch"
	if strings.HasPrefix(w.Ref, "refs/tags/") {
		refType = "tag"
	}
	return func(o *tokenOptions) {
		o.issuerPath, o.noEmail = githubIssuerPath, true
		o.subject = "repo:" + w.Repository + ":ref:" + w.Ref
		WithTokenClaims(map[string]any{
			"repository":            w.Repository,
			"repository_id":         "1001",
			"repository_owner":      owner,
			"repository_owner_id":   "2002",
			"repository_visibility": "public",
			"ref":                   w.Ref,
			"ref_type":              refType,
			"sha":                   w.SHA,
			"workflow":              w.Name,
			"workflow_ref":          workflowRef,
			"workflow_sha":          w.SHA,
			"job_workflow_ref":      workflowRef,
			"job_workflow_sha":      w.SHA,
			"event_name":            w.EventName,
			"run_id":                "3003",
			"run_number":            "1",
			"run_attempt":           "1",
			"runner_environment":    "github-hosted",
			"actor":                 owner,
		})(o)
	}
}

// GitHubToken mints a token for the GitHub Actions job w (see
// WithGitHubWorkflow).
func (o *OIDCIssuer) GitHubToken(t testing.TB, w GitHubWorkflow, opts ...TokenOption) string {
	t.Helper()
	return o.Token(t, "", append([]TokenOption{WithGitHubWorkflow(w)}, opts...)...)
}

// orDefault sets *v to d when it is empty.
func orDefault(v *string, d string) {
	if *v == "" {
		*v = d
	}
}

// GitLabPipeline is the GitLab CI job a token is for. Empty fields take the
// defaults named.
type GitLabPipeline struct {
	ProjectPath    string // "group/project"; default "octo-group/hello"
	Ref            string // a branch or tag name; default "main"
	RefType        string // "branch" or "tag"; default "branch"
	ConfigPath     string // the pipeline file; default ".gitlab-ci.yml"
	SHA            string // the commit; default 40 × "b"
	PipelineSource string // default "push"
}

func (p GitLabPipeline) withDefaults() GitLabPipeline {
	orDefault(&p.ProjectPath, "octo-group/hello")
	orDefault(&p.Ref, "main")
	orDefault(&p.RefType, "branch")
	orDefault(&p.ConfigPath, ".gitlab-ci.yml")
	orDefault(&p.SHA, strings.Repeat("b", 40))
	orDefault(&p.PipelineSource, "push")
	return p
}

// configRefURI is GitLab's ci_config_ref_uri claim:
// gitlab.com/GROUP/PROJECT//FILE@refs/heads/REF.
func (p GitLabPipeline) configRefURI() string {
	kind := "heads"
	if p.RefType == "tag" {
		kind = "tags"
	}
	return "gitlab.com/" + p.ProjectPath + "//" + p.ConfigPath + "@refs/" + kind + "/" + p.Ref
}

// Identity is the certificate identity (URI SAN) Fulcio gives the pipeline:
// https://gitlab.com/GROUP/PROJECT//.gitlab-ci.yml@refs/heads/REF.
func (p GitLabPipeline) Identity() string {
	return "https://" + p.withDefaults().configRefURI()
}

// WithGitLabPipeline makes the token a GitLab CI job's (as id_tokens: gives
// one): issued by GitLabIssuer, with GitLab's claims (project_path, ref,
// ref_type, sha, ci_config_ref_uri, pipeline_source, ...) and no email. The
// email argument of Token is ignored.
func WithGitLabPipeline(p GitLabPipeline) TokenOption {
	p = p.withDefaults()
	namespace, _, _ := strings.Cut(p.ProjectPath, "/")
	return func(o *tokenOptions) {
		o.issuerPath, o.noEmail = gitlabIssuerPath, true
		o.subject = "project_path:" + p.ProjectPath + ":ref_type:" + p.RefType + ":ref:" + p.Ref
		WithTokenClaims(map[string]any{
			"project_path":       p.ProjectPath,
			"project_id":         "4004",
			"project_visibility": "public",
			"namespace_path":     namespace,
			"namespace_id":       "5005",
			"ref":                p.Ref,
			"ref_type":           p.RefType,
			"ref_protected":      "true",
			"sha":                p.SHA,
			"ci_config_ref_uri":  p.configRefURI(),
			"ci_config_sha":      p.SHA,
			"pipeline_source":    p.PipelineSource,
			"pipeline_id":        "6006",
			"job_id":             "7007",
			"runner_environment": "gitlab-hosted",
			"user_login":         namespace,
		})(o)
	}
}

// GitLabToken mints a token for the GitLab CI job p (see
// WithGitLabPipeline).
func (o *OIDCIssuer) GitLabToken(t testing.TB, p GitLabPipeline, opts ...TokenOption) string {
	t.Helper()
	return o.Token(t, "", append([]TokenOption{WithGitLabPipeline(p)}, opts...)...)
}

// fulcioIssuers is Fulcio's configuration (YAML) trusting the issuer at url:
// email identities from url itself, and GitHub Actions and GitLab CI job
// identities from its CI issuers, with the public-good instance's mapping of
// their claims to certificate extensions (Fulcio's config/identity).
func fulcioIssuers(url string) string {
	return `oidc-issuers:
  ` + url + `:
    issuer-url: ` + url + `
    client-id: ` + DefaultTokenAudience + `
    type: email
  ` + url + githubIssuerPath + `:
    issuer-url: ` + url + githubIssuerPath + `
    client-id: ` + DefaultTokenAudience + `
    type: ci-provider
    ci-provider: github-workflow
  ` + url + gitlabIssuerPath + `:
    issuer-url: ` + url + gitlabIssuerPath + `
    client-id: ` + DefaultTokenAudience + `
    type: ci-provider
    ci-provider: gitlab-pipeline
ci-issuer-metadata:
  github-workflow:
    default-template-values:
      url: "https://github.com"
      environment: ""
    extension-templates:
      github-workflow-trigger: "event_name"
      github-workflow-sha: "sha"
      github-workflow-name: "workflow"
      github-workflow-repository: "repository"
      github-workflow-ref: "ref"
      build-signer-uri: "{{ .url }}/{{ .job_workflow_ref }}"
      build-signer-digest: "job_workflow_sha"
      runner-environment: "runner_environment"
      source-repository-uri: "{{ .url }}/{{ .repository }}"
      source-repository-digest: "sha"
      source-repository-ref: "ref"
      source-repository-identifier: "repository_id"
      source-repository-owner-uri: "{{ .url }}/{{ .repository_owner }}"
      source-repository-owner-identifier: "repository_owner_id"
      build-config-uri: "{{ .url }}/{{ .workflow_ref }}"
      build-config-digest: "workflow_sha"
      build-trigger: "event_name"
      run-invocation-uri: "{{ .url }}/{{ .repository }}/actions/runs/{{ .run_id }}/attempts/{{ .run_attempt }}"
      source-repository-visibility-at-signing: "repository_visibility"
      deployment-environment: "environment"
    subject-alternative-name-template: "{{ .url }}/{{ .job_workflow_ref }}"
  gitlab-pipeline:
    default-template-values:
      url: "https://gitlab.com"
      environment: ""
    extension-templates:
      build-signer-uri: "https://{{ .ci_config_ref_uri }}"
      build-signer-digest: "ci_config_sha"
      runner-environment: "runner_environment"
      source-repository-uri: "{{ .url }}/{{ .project_path }}"
      source-repository-digest: "sha"
      source-repository-ref: refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}
      source-repository-identifier: "project_id"
      source-repository-owner-uri: "{{ .url }}/{{ .namespace_path }}"
      source-repository-owner-identifier: "namespace_id"
      build-config-uri: "https://{{ .ci_config_ref_uri }}"
      build-config-digest: "ci_config_sha"
      build-trigger: "pipeline_source"
      run-invocation-uri: "{{ .url }}/{{ .project_path }}/-/jobs/{{ .job_id }}"
      source-repository-visibility-at-signing: "project_visibility"
      deployment-environment: "environment"
    subject-alternative-name-template: "https://{{ .ci_config_ref_uri }}"
`
}
