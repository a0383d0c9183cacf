package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSweepBinDirs: the binary folders of ended test processes are removed,
// those of running ones kept.
func TestSweepBinDirs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	running := exec.Command("sleep", "60")
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = running.Process.Kill(); _ = running.Wait() }()
	dirs := map[string]bool{ // name → kept
		fmt.Sprintf("%s%d", binDirPrefix, ended.Process.Pid):   false,
		fmt.Sprintf("%s%d", binDirPrefix, running.Process.Pid): true,
		binDirPrefix + "99999999":                              false, // the old random names (no PID is that high)
		"unrelated":                                            true,
	}
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(tmp, d, "bin"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sweepBinDirs()
	for d, kept := range dirs {
		if _, err := os.Stat(filepath.Join(tmp, d)); (err == nil) != kept {
			t.Errorf("%s: kept=%t, want %t", d, err == nil, kept)
		}
	}
}
