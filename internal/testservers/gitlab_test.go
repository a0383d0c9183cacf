package testservers

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGitLabCILocalPinned checks that CI installs the version the tests
// name, and that the one found is that version.
func TestGitLabCILocalPinned(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", ".ci", "install-test-servers.sh"))
	if err != nil {
		t.Skipf("no install script: %v", err)
	}
	if !strings.Contains(string(script), "GITLAB_CI_LOCAL_VERSION="+GitLabCILocalVersion+"\n") {
		t.Errorf(".ci/install-test-servers.sh does not pin gitlab-ci-local %s", GitLabCILocalVersion)
	}
	out, err := exec.Command(GitLabCILocal(t), "--version").Output()
	if err != nil {
		t.Fatalf("gitlab-ci-local --version: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != GitLabCILocalVersion {
		t.Errorf("gitlab-ci-local is %s, want %s (%s)", got, GitLabCILocalVersion, GitLabCILocalInstall)
	}
}
