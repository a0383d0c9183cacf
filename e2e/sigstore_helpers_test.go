package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
)

// cosign3 runs cosign 3 with a home of its own and env added to this
// process's environment, and returns its combined output and whether it
// said "Verified OK" with exit 0.
func cosign3(t *testing.T, env []string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(testservers.Tool(t, "cosign3"), args...)
	cmd.Env = append(append(os.Environ(), "HOME="+t.TempDir()), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil && strings.Contains(string(out), "Verified OK")
}
