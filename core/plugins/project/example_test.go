package project_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mmbuild/mmbuild/core/plugins/project"
)

// A build config in a subfolder of a repository uses the lock file at the
// repository root when it has none of its own.
func ExampleFindLock() {
	repo, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(repo)
	_ = os.MkdirAll(filepath.Join(repo, ".git"), 0o755)
	_ = os.MkdirAll(filepath.Join(repo, "server"), 0o755)
	_ = os.WriteFile(filepath.Join(repo, "mmbuild.lock.hcl"), nil, 0o644)

	path, found := project.FindLock(filepath.Join(repo, "server"))
	rel, _ := filepath.Rel(repo, path)
	fmt.Println(rel, found)
	// Output: mmbuild.lock.hcl true
}
