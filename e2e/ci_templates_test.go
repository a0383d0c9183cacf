package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// The GitLab template embeds ci/install.sh line for line (an included
// file cannot name another), and both templates install the version in
// VERSION by default.
func TestCITemplatesInstallScript(t *testing.T) {
	root := testenv.Root()
	var tmpl struct {
		Job struct {
			Variables map[string]string `yaml:"variables"`
			Script    []string          `yaml:"script"`
		} `yaml:".mmbuild"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(root, "ci", "gitlab", "mmbuild.gitlab-ci.yml")), &tmpl); err != nil {
		t.Fatalf("ci/gitlab/mmbuild.gitlab-ci.yml: %v", err)
	}
	install := string(mustRead(t, filepath.Join(root, "ci", "install.sh")))
	if len(tmpl.Job.Script) == 0 || tmpl.Job.Script[0] != install {
		t.Error("the GitLab template's first script entry is not ci/install.sh: copy the script into it, indented as a block (- |)")
	}
	version := "v" + strings.TrimSpace(string(mustRead(t, filepath.Join(root, "VERSION"))))
	if got := tmpl.Job.Variables["MMBUILD_VERSION"]; got != version {
		t.Errorf("GitLab template MMBUILD_VERSION = %q, want %q (VERSION)", got, version)
	}
	var action struct {
		Inputs map[string]struct{ Default string } `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(root, "ci", "github", "action.yml")), &action); err != nil {
		t.Fatal(err)
	}
	if got := action.Inputs["version"].Default; got != version {
		t.Errorf("action version default = %q, want %q (VERSION)", got, version)
	}
}

// ci/install.sh installs a release laid out by ci/release.sh, from a
// folder or over HTTP, only when SHA256SUMS has the pinned sha256 and every
// binary the sha256 SHA256SUMS gives it; an installed binary that matches
// is kept.
func TestInstallScript(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	release, pin := ciRelease(t, in)
	web := testservers.NewHTTPServer(t, release)
	install := filepath.Join(testenv.Root(), "ci", "install.sh")
	env := func(dir, url, pin string) []string {
		return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + in.Home, "MMBUILD_VERSION=v0.1.0", "MMBUILD_SHA256SUMS=" + pin,
			"MMBUILD_RELEASE_URL=" + url, "MMBUILD_INSTALL_DIR=" + dir}
	}
	dir := filepath.Join(t.TempDir(), "mmbuild")
	log := ghStep(t, t.TempDir(), env(dir, web.URL, pin), install)
	if web.Count("/SHA256SUMS") != 1 || web.Count("/mmbuild_linux_amd64") != 1 && web.Count("/mmbuild_linux_arm64") != 1 {
		t.Errorf("not fetched over HTTP:\n%s", log)
	}
	for name := range map[string]bool{"mmbuild": true, "mmbuild-plugin-make": true, "mmbuild-plugin-s3": true} {
		if got, want := sha256Hex(t, mustRead(t, filepath.Join(dir, "bin", name))), sha256Hex(t, mustRead(t, filepath.Join(in.BinDir, name))); got != want {
			t.Errorf("installed %s has sha256 %s, the release's is %s", name, got, want)
		}
		if fi, err := os.Stat(filepath.Join(dir, "bin", name)); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v, want mode 0755", name, fi, err)
		}
	}
	if !strings.Contains(log, "mmbuild install: mmbuild 0.1.0") && !strings.Contains(log, "mmbuild install: mmbuild ") {
		t.Errorf("the script does not say what it installed:\n%s", log)
	}
	// Again, from the folder: everything is already there.
	log = ghStep(t, t.TempDir(), env(dir, release, pin), install)
	if strings.Count(log, "already in "+filepath.Join(dir, "bin")) != len(regexpAll(`(?m)^[0-9a-f]{64}  (mmbuild\S*)$`, string(mustRead(t, filepath.Join(release, "SHA256SUMS"))))) {
		t.Errorf("a second install fetched again:\n%s", log)
	}

	fails := func(name string, env []string, want ...string) {
		t.Helper()
		r := shFails(t, env, install)
		for _, w := range want {
			if !strings.Contains(r, w) {
				t.Errorf("%s: the error lacks %q:\n%s", name, w, r)
			}
		}
	}
	other := filepath.Join(t.TempDir(), "mmbuild")
	fails("wrong pin", env(other, release, strings.Repeat("0", 64)), "SHA256SUMS has sha256 "+pin, "the pin MMBUILD_SHA256SUMS is 000")
	fails("no pin", env(other, release, ""), "MMBUILD_SHA256SUMS is not set")
	if exists(filepath.Join(other, "bin", "mmbuild")) {
		t.Error("installed under a wrong pin")
	}
	noLeftovers(t, "wrong pin", filepath.Join(other, "bin"))

	// A SHA256SUMS without a final newline: its last binary too.
	trimmed := filepath.Join(t.TempDir(), "release")
	if err := os.CopyFS(trimmed, os.DirFS(release)); err != nil {
		t.Fatal(err)
	}
	sums := strings.TrimRight(string(mustRead(t, filepath.Join(release, "SHA256SUMS"))), "\n")
	if err := os.WriteFile(filepath.Join(trimmed, "SHA256SUMS"), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	last := sums[strings.LastIndex(sums, "  ")+2:]
	if !strings.HasSuffix(last, "_"+runtime.GOOS+"_"+runtime.GOARCH) {
		t.Fatalf("the release's last binary %s is not this platform's: the case below would not test it", last)
	}
	newline := filepath.Join(t.TempDir(), "mmbuild")
	log = ghStep(t, t.TempDir(), env(newline, trimmed, sha256Hex(t, []byte(sums))), install)
	name := strings.TrimSuffix(last, "_"+runtime.GOOS+"_"+runtime.GOARCH)
	if !exists(filepath.Join(newline, "bin", name)) || !strings.Contains(log, "mmbuild install: "+name+" ") {
		t.Errorf("SHA256SUMS without a final newline: its last binary %s was not installed:\n%s", name, log)
	}

	// A binary missing from the release: nothing half-fetched stays.
	missing := filepath.Join(t.TempDir(), "release")
	if err := os.CopyFS(missing, os.DirFS(release)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(missing, last)); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(t.TempDir(), "mmbuild")
	fails("missing binary", env(partial, missing, pin), "cannot fetch "+missing+"/"+last)
	noLeftovers(t, "missing binary", filepath.Join(partial, "bin"))
	// A binary changed after SHA256SUMS was made.
	bins, _ := filepath.Glob(filepath.Join(release, "mmbuild-plugin-make_*"))
	if err := os.WriteFile(bins[0], []byte("not the plugin"), 0o755); err != nil {
		t.Fatal(err)
	}
	fails("tampered binary", env(other, release, pin), filepath.Base(bins[0])+" has sha256 "+sha256Hex(t, []byte("not the plugin")), "SHA256SUMS says")
	if exists(filepath.Join(other, "bin", "mmbuild-plugin-make")) {
		t.Error("a tampered binary was installed")
	}
	noLeftovers(t, "tampered binary", filepath.Join(other, "bin"))
}

// noLeftovers fails when a failed install left a download (.NAME.download)
// in dir.
func noLeftovers(t *testing.T, name, dir string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, ".*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("%s: the failed install left %v", name, left)
	}
}

// shFails runs a script with sh, which must fail, and returns its output.
func shFails(t *testing.T, env []string, script string) string {
	t.Helper()
	cmd := exec.Command("sh", script)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("sh %s succeeded:\n%s", script, out)
	}
	return string(out)
}

// docs/ci.md shows the CI files of the example as they are: every block
// after a "<!-- file: PATH -->" line is the file at PATH.
func TestCIDocsShowTheFiles(t *testing.T) {
	root := testenv.Root()
	doc := string(mustRead(t, filepath.Join(root, "docs", "ci.md")))
	blocks := regexpAll("(?s)<!-- file: (\\S+) -->\n```[a-z]*\n", doc)
	if len(blocks) < 2 {
		t.Fatalf("docs/ci.md shows %d files, want the GitLab and GitHub pipelines", len(blocks))
	}
	for _, path := range blocks {
		start := strings.Index(doc, "<!-- file: "+path+" -->\n")
		body := doc[start:]
		body = body[strings.Index(body, "\n```")+1:]
		body = body[strings.Index(body, "\n")+1:]
		body = body[:strings.Index(body, "```\n")]
		if want := string(mustRead(t, filepath.Join(root, path))); body != want {
			t.Errorf("docs/ci.md shows %s other than it is: copy the file into the block", path)
		}
	}
}
