package testservers

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// InstallScript is the command that installs every tool below at its pinned
// version into the repository's tool folder (.tools/<name>@<version>/bin).
const InstallScript = ".ci/install-test-servers.sh"

// Versions the tests run against; .ci/install-test-servers.sh pins the same
// ones as <NAME>_VERSION (TestInstallScriptPins checks).
const (
	// CosignVersion is cosign v2, installed as cosign.
	CosignVersion = "v2.6.5"
	// Cosign3Version is cosign v3, installed as cosign3.
	Cosign3Version = "v3.1.3"
	// RcloneVersion is the rclone the S3 plugin's benchmark compares with
	// (installed by the script's --bench only).
	RcloneVersion = "v1.76.0"
	// MermaidCLIVersion is the Mermaid CLI (npm @mermaid-js/mermaid-cli),
	// installed as mmdc: it checks mmbuild graph's Mermaid.
	MermaidCLIVersion = "11.17.0"
)

// tool is a program a test runs: installed by the install script at a
// pinned version, or (version "") a system tool from the distribution.
type tool struct {
	env     string // $MMBUILD_<NAME>: an explicit path wins
	version string // pinned version in .tools; "" for a system tool
	install string // how to get it
}

const aptHint = " (.ci/run installs it with apt)"

// tools are every program the tests find through Tool.
var tools = map[string]tool{
	"versitygw":       {"MMBUILD_VERSITYGW", VersityGWVersion, InstallScript},
	"registry":        {"MMBUILD_REGISTRY", DistributionVersion, InstallScript},
	"crane":           {"MMBUILD_CRANE", CraneVersion, InstallScript},
	"cosign":          {"MMBUILD_COSIGN", CosignVersion, InstallScript},
	"cosign3":         {"MMBUILD_COSIGN3", Cosign3Version, InstallScript},
	"gitlab-ci-local": {"MMBUILD_GITLAB_CI_LOCAL", GitLabCILocalVersion, InstallScript},
	"rclone":          {"MMBUILD_RCLONE", RcloneVersion, InstallScript + " --bench"},
	"rsync":           {"MMBUILD_RSYNC", "", "apt-get install rsync" + aptHint},
	"bwrap":           {"MMBUILD_BWRAP", "", "apt-get install bubblewrap" + aptHint},
	"chromium":        {"MMBUILD_CHROMIUM", "", "apt-get install chromium" + aptHint},
	"mmdc":            {"MMBUILD_MMDC", MermaidCLIVersion, InstallScript},
	// The local Sigstore stack (StartSigstore) and local-kms (StartLocalKMS).
	"fulcio":           {"MMBUILD_FULCIO", FulcioVersion, InstallScript},
	"rekor-server":     {"MMBUILD_REKOR_SERVER", RekorServerVersion, InstallScript},
	"timestamp-server": {"MMBUILD_TIMESTAMP_SERVER", TimestampServerVersion, InstallScript},
	"local-kms":        {"MMBUILD_LOCAL_KMS", LocalKMSVersion, InstallScript},
	"tesseract":        {"MMBUILD_TESSERACT", TesseraCTVersion, InstallScript},
}

// ToolNames lists the names Tool knows, sorted.
func ToolNames() []string {
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ToolVersion is the version of name that the install script pins, or ""
// for a system tool.
func ToolVersion(name string) string { return tools[name].version }

// Tool returns the path of the test tool name (one of ToolNames): the file
// $MMBUILD_<NAME> names, else the pinned version in the repository's tool
// folder (.tools/<name>@<version>/bin/<name>, or under $MMBUILD_TOOLS), else
// name on $PATH. Without it the test is skipped with the command that
// installs it, or fails when $CI is set: CI installs every tool, and a test
// that skips there proves nothing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := ToolPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("testservers: %v", err)
	}
	t.Skip(err.Error())
	return ""
}

// ToolPath is Tool for a program that is not a test (make demo-remote's):
// the path, or an error naming where it looked and how to install it.
func ToolPath(name string) (string, error) {
	tl, ok := tools[name]
	if !ok {
		return "", errors.New("unknown test tool " + name + ": add it to internal/testservers' tools")
	}
	if p := os.Getenv(tl.env); p != "" {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return "", errors.New("$" + tl.env + "=" + p + " is not a file")
		}
		return p, nil
	}
	where := "$" + tl.env + ", "
	if tl.version != "" {
		if dir := ToolsDir(); dir != "" {
			p := filepath.Join(dir, name+"@"+tl.version, "bin", name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
			where += p + ", "
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	ver := ""
	if tl.version != "" {
		ver = " " + tl.version
	}
	return "", errors.New(name + ver + " not found (" + where + "$PATH): install it with\n\t" + tl.install)
}

// ToolsDir is the repository's tool folder the install script fills:
// $MMBUILD_TOOLS, else .tools at the root of the repository this package's
// source lives in; "" when neither can be found.
func ToolsDir() string {
	if d := os.Getenv("MMBUILD_TOOLS"); d != "" {
		return d
	}
	if root := repoRoot(); root != "" {
		return filepath.Join(root, ".tools")
	}
	return ""
}

// repoRoot is the folder holding .ci/install-test-servers.sh: two levels
// above this file, or (built with -trimpath, where the file's path is not a
// path on disk) the first folder above the working directory that has it.
func repoRoot() string {
	has := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(InstallScript)))
		return err == nil
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if dir := filepath.Join(filepath.Dir(file), "..", ".."); has(dir) {
			return filepath.Clean(dir)
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if has(dir) {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}
