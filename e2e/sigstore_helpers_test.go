package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
)

// cosign3 runs cosign 3 with a home of its own and env added to this
// process's environment, and returns its combined output and error.
func cosign3(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testservers.Tool(t, "cosign3"), args...)
	cmd.Env = append(append(os.Environ(), "HOME="+t.TempDir()), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cosign3Verified runs a cosign 3 verification and returns its output and
// whether it exited 0 saying "Verified OK".
func cosign3Verified(t *testing.T, env []string, args ...string) (string, bool) {
	t.Helper()
	out, err := cosign3(t, env, args...)
	return out, err == nil && strings.Contains(out, "Verified OK")
}
