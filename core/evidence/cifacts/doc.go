// Package cifacts reads which CI job runs a build from the CI platform's
// own variables, as typed facts for the provenance: the platform, the
// repository, the ref, the run and job, the runner's kind. A platform's
// variables are read only when its marker is set (GITHUB_ACTIONS=true,
// GITLAB_CI=true, JENKINS_URL with BUILD_URL), so a build on one platform
// cannot pass for another by setting its variables.
package cifacts
