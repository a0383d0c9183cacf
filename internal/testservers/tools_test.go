package testservers

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallScriptPins checks that the install script pins every tool at
// the version the tests name (<NAME>_VERSION=<version>).
func TestInstallScriptPins(t *testing.T) {
	root := repoRoot()
	if root == "" {
		t.Fatal("no repository root with " + InstallScript + " above this package")
	}
	script, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(InstallScript)))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range ToolNames() {
		v := ToolVersion(name)
		if v == "" {
			continue
		}
		pin := strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_VERSION=" + v + "\n"
		if !bytes.Contains(script, []byte("\n"+pin)) {
			t.Errorf("%s does not pin %s %s (want a line %q)", InstallScript, name, v, strings.TrimSpace(pin))
		}
	}
}

// TestToolsInstalled checks every tool make test needs: found (under $CI a
// missing one fails), and, for a pinned one found in the tool folder or on
// $PATH, at the pinned version.
func TestToolsInstalled(t *testing.T) {
	for _, name := range ToolNames() {
		if name == "rclone" { // make bench's only
			continue
		}
		t.Run(name, func(t *testing.T) {
			p := Tool(t, name)
			want := ToolVersion(name)
			if want == "" {
				return
			}
			var got string
			if name == "gitlab-ci-local" || name == "mmdc" { // npm's, not Go's
				out, err := exec.Command(p, "--version").Output()
				if err != nil {
					t.Fatalf("%s --version: %v", p, err)
				}
				got = strings.TrimSpace(string(out))
			} else {
				out, err := exec.Command("go", "version", "-m", p).Output()
				if err != nil {
					t.Fatalf("go version -m %s: %v", p, err)
				}
				got = mainVersion(string(out))
			}
			if got != want {
				t.Errorf("%s is %s, want %s (%s)", p, got, want, InstallScript)
			}
		})
	}
}

// mainVersion is the main module's version in go version -m output.
func mainVersion(out string) string {
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" {
			return f[2]
		}
	}
	return ""
}

// TestToolLookupOrder checks where Tool looks, in order: $MMBUILD_<NAME>,
// the tool folder at the pinned version (another version there is not
// taken), then $PATH; and that what is missing is named with its install
// command.
func TestToolLookupOrder(t *testing.T) {
	exe := func(dir, name string) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tmp := t.TempDir()
	toolsDir := filepath.Join(tmp, "tools")
	pinned := exe(filepath.Join(toolsDir, "cosign3@"+Cosign3Version, "bin"), "cosign3")
	exe(filepath.Join(toolsDir, "crane@v0.0.1", "bin"), "crane") // not the pinned version
	onPath := exe(filepath.Join(tmp, "path"), "cosign3")
	explicit := exe(filepath.Join(tmp, "explicit"), "cosign3")
	t.Setenv("MMBUILD_TOOLS", toolsDir)
	t.Setenv("PATH", filepath.Join(tmp, "path"))
	t.Setenv("MMBUILD_COSIGN3", "")
	t.Setenv("MMBUILD_CRANE", "")

	tests := []struct {
		name, env, want, wantErr string
	}{
		{name: "cosign3", env: explicit, want: explicit},
		{name: "cosign3", want: pinned},
		{name: "crane", wantErr: "crane " + CraneVersion + " not found ($MMBUILD_CRANE, " + filepath.Join(toolsDir, "crane@"+CraneVersion, "bin", "crane") + ", $PATH): install it with\n\t" + InstallScript},
		{name: "cosign3", env: filepath.Join(tmp, "nothing"), wantErr: "$MMBUILD_COSIGN3=" + filepath.Join(tmp, "nothing") + " is not a file"},
		{name: "rsync", wantErr: "rsync not found ($MMBUILD_RSYNC, $PATH): install it with\n\tapt-get install rsync"},
		{name: "nmap", wantErr: "unknown test tool nmap"},
	}
	for _, tt := range tests {
		if tt.env != "" {
			t.Setenv(tools[tt.name].env, tt.env)
		}
		got, err := ToolPath(tt.name)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
			t.Errorf("ToolPath(%s) with %q = %q, %v; want an error starting %q", tt.name, tt.env, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("ToolPath(%s) with %q = %q, %v; want %s", tt.name, tt.env, got, err, tt.want)
		}
		if tt.env != "" {
			t.Setenv(tools[tt.name].env, "")
		}
	}
	// With the tool folder's version gone, $PATH's.
	if err := os.RemoveAll(filepath.Join(toolsDir, "cosign3@"+Cosign3Version)); err != nil {
		t.Fatal(err)
	}
	if got, err := ToolPath("cosign3"); err != nil || got != onPath {
		t.Errorf("ToolPath(cosign3) without the tool folder's = %q, %v; want %s", got, err, onPath)
	}
}

// TestToolMissingUnderCI runs a test that needs a missing tool, in a child
// test process: without $CI it is skipped, under $CI it fails.
func TestToolMissingUnderCI(t *testing.T) {
	if os.Getenv("MMBUILD_TOOL_CHILD") != "" {
		Tool(t, "cosign3")
		return
	}
	for _, tt := range []struct {
		ci   string
		want string
	}{{"", "--- SKIP"}, {"1", "--- FAIL"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestToolMissingUnderCI$", "-test.v")
		cmd.Env = append(os.Environ(), "MMBUILD_TOOL_CHILD=1", "CI="+tt.ci, "MMBUILD_COSIGN3=",
			"MMBUILD_TOOLS="+t.TempDir(), "PATH="+t.TempDir())
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), tt.want) || !strings.Contains(string(out), "cosign3 "+Cosign3Version+" not found") {
			t.Errorf("CI=%q: want %s naming the missing cosign3, got:\n%s", tt.ci, tt.want, out)
		}
	}
}

// TestInstallScriptOnAFreshHome runs the install script as a fresh machine
// would, with an empty $HOME and $GOPATH, once the tools are installed: it
// finds every tool in the tool folder, builds nothing and writes nothing
// into $HOME or $GOPATH (which an install into $(go env GOPATH)/bin needs
// to exist).
func TestInstallScriptOnAFreshHome(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the install script")
	}
	for _, name := range ToolNames() {
		if v := ToolVersion(name); v != "" && name != "rclone" {
			Tool(t, name) // skipped, or failed under $CI, until the script ran once
		}
	}
	root := repoRoot()
	home, gopath := t.TempDir(), t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, filepath.FromSlash(InstallScript)))
	cmd.Env = append(os.Environ(), "HOME="+home, "GOPATH="+gopath, "MMBUILD_TOOLS="+ToolsDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", InstallScript, err, out)
	}
	for _, name := range ToolNames() {
		if v := ToolVersion(name); v != "" && name != "rclone" && !strings.Contains(string(out), name+" "+v+": already installed") {
			t.Errorf("%s did not find %s %s installed:\n%s", InstallScript, name, v, out)
		}
	}
	for _, dir := range []string{home, gopath} {
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Errorf("%s wrote %s into %s", InstallScript, left[0].Name(), dir)
		}
	}
}
