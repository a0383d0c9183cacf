package e2e

// Helpers of the tests that run mmbuild the way users and CI run it (the
// original HOWTO's config, the CI templates, mmbuild init).

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
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

// regexpAll returns the first group of every match of pattern in s.
func regexpAll(pattern, s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// ciExample is examples/pipeline as a user's repository before its first
// commit: the plugins pinned, and a key pair of one's own whose public half
// is in keys/demo.pub (committed) and whose private half, returned, is kept
// outside (it goes to the CI's secrets only).
func ciExample(t *testing.T, in *testenv.Install) (repo, privateKey string) {
	t.Helper()
	repo = testenv.Example(t, "pipeline")
	engineMustRun(t, in, repo, "plugins", "lock")
	secrets := t.TempDir()
	engineMustRun(t, in, repo, "keys", "generate", "--force", "--out", filepath.Join(secrets, "demo"))
	if err := os.Rename(filepath.Join(secrets, "demo.pub"), filepath.Join(repo, "keys", "demo.pub")); err != nil {
		t.Fatal(err)
	}
	return repo, string(mustRead(t, filepath.Join(secrets, "demo.key")))
}

// ciCommit makes dir a git repository holding its files in one commit, as
// a CI job's checkout is.
func ciCommit(t *testing.T, dir string) {
	t.Helper()
	ciGit(t, dir, "init", "-q")
	ciGit(t, dir, "add", ".")
	ciGit(t, dir, "commit", "-q", "-m", "the example pipeline")
}

// ciGit runs git in dir with a fixed identity.
func ciGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=mmbuild test", "-c", "user.email=test@mmbuild.invalid", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}
