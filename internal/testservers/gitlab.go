package testservers

import "testing"

// GitLabCILocalVersion is the gitlab-ci-local release the tests run GitLab
// pipelines with (the last that runs on Node 20); .ci/install-test-servers.sh
// installs the same one.
const GitLabCILocalVersion = "4.62.0"

// GitLabCILocalInstall is the command that installs gitlab-ci-local where
// GitLabCILocal looks for it.
const GitLabCILocalInstall = `npm install -g --prefix "$(go env GOPATH)" gitlab-ci-local@` + GitLabCILocalVersion

// GitLabCILocal returns the gitlab-ci-local executable, which runs a
// .gitlab-ci.yml on this machine the way a GitLab runner does (it needs
// git and rsync): $MMBUILD_GITLAB_CI_LOCAL, else gitlab-ci-local on $PATH,
// else $(go env GOPATH)/bin/gitlab-ci-local. Without it the test is skipped,
// or fails when $CI is set.
func GitLabCILocal(t testing.TB) string {
	t.Helper()
	return findTool(t, "MMBUILD_GITLAB_CI_LOCAL", "gitlab-ci-local", GitLabCILocalInstall)
}
