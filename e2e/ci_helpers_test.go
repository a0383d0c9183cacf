package e2e

// Helpers of the tests that run mmbuild the way users and CI run it (the
// original HOWTO's config, the CI templates, mmbuild init).

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// readDotenv parses a dotenv file as GitLab reads one (NAME=value lines),
// failing on any other line.
func readDotenv(t *testing.T, path string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for i, l := range strings.Split(strings.TrimSuffix(string(mustRead(t, path)), "\n"), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			t.Fatalf("%s:%d: not NAME=value: %q", path, i+1, l)
		}
		vars[k] = v
	}
	return vars
}

// tarGz returns a gzipped tar of the files (name → content), made with
// tar(1) as a user makes one.
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	out, err := exec.Command("tar", append([]string{"-czf", "-", "-C", dir}, names...)...).Output()
	if err != nil {
		t.Fatalf("tar: %v", err)
	}
	return out
}
