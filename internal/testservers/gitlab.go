package testservers

import "testing"

// GitLabCILocalVersion is the gitlab-ci-local release the tests run GitLab
// pipelines with (the last that runs on Node 20); .ci/install-test-servers.sh
// installs the same one.
const GitLabCILocalVersion = "4.62.0"

// GitLabCILocal returns the gitlab-ci-local executable, which runs a
// .gitlab-ci.yml on this machine the way a GitLab runner does (it needs
// git and rsync), found by Tool.
func GitLabCILocal(t testing.TB) string {
	t.Helper()
	return Tool(t, "gitlab-ci-local")
}
