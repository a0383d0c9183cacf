package testservers

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// findTool returns the path of a test server or tool: $envVar, else name on
// $PATH, else $(go env GOPATH)/bin/name. Without it the test is skipped
// with the command that installs it, or fails when $CI is set: CI must
// install it (.ci/install-test-servers.sh).
func findTool(t testing.TB, envVar, name, install string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p
			}
		}
	}
	msg := name + " not found ($" + envVar + ", $PATH, $(go env GOPATH)/bin): install it with\n\t" + install
	if os.Getenv("CI") != "" {
		t.Fatal("testservers: " + msg)
	}
	t.Skip(msg)
	return ""
}
