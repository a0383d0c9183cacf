package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// stubborn is a recipe that ignores SIGTERM and SIGINT and keeps a child
// writing into the work tree.
const stubborn = `stubborn:
	@trap '' TERM INT; (trap '' TERM INT; while :; do date >> still-writing; sleep 0.1; done; sleep 8888) & echo started > long-started; wait
`

// When mmbuild or the handler plugin is SIGKILLed mid-build, no process of
// the build lives on: make dies with the plugin (Pdeathsig), and the
// plugin's watchdog kills make's process group, the recipe's children
// included, even those that ignore SIGTERM.
func TestSIGKILLLeavesNoBuildProcess(t *testing.T) {
	for _, victim := range []string{"mmbuild", "handler plugin", "SIGINT to mmbuild"} {
		t.Run(victim, func(t *testing.T) {
			in := testenv.NewInstall(t)
			dir := lockedProject(t, in, "")
			writeFiles(t, dir, map[string]string{"Makefile": strings.Replace(string(mustRead(t, filepath.Join(dir, "Makefile"))), "long:", stubborn+"long:", 1)})
			cfg := filepath.Join(dir, "mmbuild.yaml")
			writeFiles(t, dir, map[string]string{"mmbuild.yaml": strings.Replace(string(mustRead(t, cfg)), `params: ["all"]`, `params: ["stubborn"]`, 1)})
			cmd := in.Command(t.Context(), dir, "run")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			waitFor(t, filepath.Join(dir, "long-started"))
			pid, sig := cmd.Process.Pid, syscall.SIGKILL
			switch victim {
			case "handler plugin":
				// The handler runs in its box, a few processes below
				// mmbuild (bubblewrap and the box's init between).
				pid = descendantNamed(t, cmd.Process.Pid, "mmbuild-plugin-make")
			case "SIGINT to mmbuild":
				sig = syscall.SIGINT
			}
			if err := syscall.Kill(pid, sig); err != nil {
				t.Fatal(err)
			}
			if sig == syscall.SIGINT {
				// A recipe ignoring SIGTERM gets SIGKILL after the handler's
				// grace period; mmbuild ends within it.
				mustEndFailing(t, cmd, 10*time.Second, "SIGINT")
			}
			if left := lingering(t, in.BinDir, "8888"); len(left) > 0 {
				t.Fatalf("processes of the build outlived the SIGKILL of the %s: %v", victim, left)
			}
			before := fileSize(filepath.Join(dir, "still-writing"))
			time.Sleep(400 * time.Millisecond)
			if after := fileSize(filepath.Join(dir, "still-writing")); after != before {
				t.Fatalf("something still writes into the work tree (%d → %d bytes)", before, after)
			}
		})
	}
}

func waitFor(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !exists(path) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// descendantNamed is the PID of a process below root whose executable has
// one of names.
func descendantNamed(t *testing.T, root int, names ...string) int {
	t.Helper()
	procs := testenv.Processes()
	below := map[int]bool{root: true}
	for changed := true; changed; {
		changed = false
		for _, p := range procs {
			if below[p.PPID] && !below[p.PID] {
				below[p.PID], changed = true, true
			}
		}
	}
	for _, p := range procs {
		if below[p.PID] && p.PID != root && slices.Contains(names, filepath.Base(p.Exe)) {
			return p.PID
		}
	}
	t.Fatalf("no process %v below %d", names, root)
	return 0
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// A plugin that hand-shakes to an address that never answers does not hold
// mmbuild: SIGTERM ends the run at once, well before the start timeout, and
// the plugin goes with it.
func TestSIGTERMWhileAPluginHangs(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := lockedProject(t, in, "")
	in.FaultyPlugin(in.BinDir, "make")
	in.MustRun(dir, "plugins", "lock")
	in.Env = append(in.Env, "MMBUILD_PLUGIN_TEST_FAULT=dead-address", "MMBUILD_PLUGIN_START_TIMEOUT=120s")
	cmd := in.Command(t.Context(), dir, "run")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	deadline := time.Now().Add(20 * time.Second)
	for len(processesMatching(t, in.BinDir, "no-marker")) < 2 { // mmbuild and the hanging plugin
		if time.Now().After(deadline) {
			t.Fatal("the plugin never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // it is past the handshake, waiting on the connection
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	mustEndFailing(t, cmd, 10*time.Second, "SIGTERM while a plugin hung")
}

// mustEndFailing waits for cmd, which must exit non-zero within limit of
// what happened to it.
func mustEndFailing(t *testing.T, cmd *exec.Cmd, limit time.Duration, what string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("mmbuild exited 0 after %s", what)
		}
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		t.Fatalf("mmbuild did not end within %v of %s", limit, what)
	}
}

// lingering waits up to 5 s for the processes processesMatching finds to
// go, and returns those that did not.
func lingering(t *testing.T, binDir, marker string) []string {
	t.Helper()
	var left []string
	for i := 0; i < 50; i++ {
		if left = processesMatching(t, binDir, marker); len(left) == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return left
}
