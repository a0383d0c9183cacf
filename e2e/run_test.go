package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

func TestMaterialDigestMismatch(t *testing.T) {
	in := testenv.NewInstall(t)
	wrong := strings.Repeat("ab", 32)
	dir := project(t, wrong, "")
	in.MustRun(dir, "plugins", "lock")
	r := in.Run(dir, "run")
	if r.Code == 0 {
		t.Fatal("run succeeded with a wrong material digest")
	}
	line := errorLine(t, r)
	for _, w := range []string{"data.txt", "sha256 digest mismatch", wrong, realDataDigest(t)} {
		if !strings.Contains(line, w) {
			t.Errorf("error lacks %q: %s", w, line)
		}
	}
	if exists(filepath.Join(dir, "builder-ran")) {
		t.Error("the builder ran despite the mismatch")
	}
	assertNothingPublished(t, dir)
}

func TestArtifactGlobMatchesNothing(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := lockedProject(t, in, "")
	cfg := filepath.Join(dir, "mmbuild.yaml")
	data := strings.Replace(string(mustRead(t, cfg)), `"dist/*.out"`, `"dist/*.missing"`, 1)
	if err := os.WriteFile(cfg, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	r := in.Run(dir, "run")
	if r.Code == 0 {
		t.Fatal("run succeeded without artifacts")
	}
	line := errorLine(t, r)
	if !strings.Contains(line, "dist/*.missing") || !strings.Contains(line, "matched no file") || !strings.Contains(line, "mmbuild.yaml:") {
		t.Errorf("error line: %s", line)
	}
	if !exists(filepath.Join(dir, "builder-ran")) {
		t.Error("the builder should have run before collecting")
	}
	assertNothingPublished(t, dir)
}

func TestBuilderFailureExitCode(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := lockedProject(t, in, "")
	writeFiles(t, dir, map[string]string{"Makefile": "all:\n\t@echo failing on purpose >&2; exit 7\n"})
	r := in.Run(dir, "run")
	if r.Code != 3 {
		t.Fatalf("exit %d, want 3 (builder failed)\n%s", r.Code, r.Stderr)
	}
	if line := errorLine(t, r); !strings.Contains(line, "status 2") && !strings.Contains(line, "exited with status") {
		t.Errorf("error line: %s", line)
	}
	if !strings.Contains(r.Stderr, "failing on purpose") {
		t.Error("the builder's stderr was not streamed")
	}
	assertNothingPublished(t, dir)
}

// SIGINT during a long make: mmbuild exits non-zero and neither make, its
// children nor any plugin outlives it.
func TestInterruptKillsEverything(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := lockedProject(t, in, "")
	cfg := filepath.Join(dir, "mmbuild.yaml")
	data := strings.Replace(string(mustRead(t, cfg)), `params: ["all"]`, `params: ["long"]`, 1)
	if err := os.WriteFile(cfg, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := in.Command(t.Context(), dir, "run")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !exists(filepath.Join(dir, "long-started")) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("make never started:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(processesMatching(t, in.BinDir, "7777")) == 0 {
		t.Fatal("no plugin or sleep process seen while the build runs: the check below would prove nothing")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	mustEndFailing(t, cmd, 20*time.Second, "SIGINT")
	// Processes are reaped asynchronously; give the kernel a moment.
	if left := lingering(t, in.BinDir, "7777"); len(left) > 0 {
		t.Fatalf("processes left running after mmbuild exited: %v", left)
	}
	assertNothingPublished(t, dir)
}

// processesMatching lists live processes whose executable is in binDir or
// whose command line contains marker.
func processesMatching(t *testing.T, binDir, marker string) []string {
	t.Helper()
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("no /proc")
	}
	var out []string
	for _, p := range testenv.Processes() {
		if strings.HasPrefix(p.Exe, binDir+"/") || strings.Contains(p.Cmdline, "sleep "+marker) {
			out = append(out, strconv.Itoa(p.PID)+":"+p.Cmdline)
		}
	}
	return out
}

// A --sign-key file that cannot be read or is not a key fails the run with
// one line naming the flag, before the builder runs and before anything is
// published.
func TestUnreadableSignKeyFailsBeforeTheBuild(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := lockedProject(t, in, "")
	for name, key := range map[string]string{"missing": filepath.Join(dir, "no-such.key"), "not a key": filepath.Join(dir, "Makefile")} {
		r := in.Run(dir, "run", "--sign-key", key)
		if r.Code == 0 || !strings.Contains(r.Stderr, "--sign-key") || strings.Count(strings.TrimSpace(r.Stderr), "\n") > 0 {
			t.Fatalf("%s key: exit %d, want one error line naming --sign-key:\n%s", name, r.Code, r.Stderr)
		}
		if exists(filepath.Join(dir, "builder-ran")) {
			t.Fatalf("%s key: the builder ran", name)
		}
		assertNothingPublished(t, dir)
	}
}
