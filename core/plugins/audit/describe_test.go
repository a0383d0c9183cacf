package audit

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/internal/testenv"
)

// A plugin whose describe hangs is abandoned after the timeout with all it
// started: the process it left running (sleep 6543) is killed with it.
func TestDescribeKillsWhatAHangingPluginStarted(t *testing.T) {
	_, fakeBin := testBinaries(t)
	dir := t.TempDir()
	bin := install(t, fakeBin, dir, "orphan")
	_, err := Describe(context.Background(), bin, "", WithCacheDir(""), WithDescribeTimeout(time.Second))
	if err == nil || !strings.Contains(err.Error(), "no answer within 1s") {
		t.Fatalf("Describe = %v, want no answer within 1s", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "orphan-pid"))
	must(t, err)
	pid, err := strconv.Atoi(string(b))
	must(t, err)
	deadline := time.Now().Add(3 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			_ = syscallKill(pid)
			t.Fatalf("the child (pid %d) of the abandoned describe lives on", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// running reports whether pid is a live process (zombies awaiting their
// parent are not).
func running(pid int) bool {
	for _, p := range testenv.Processes() {
		if p.PID == pid {
			return true
		}
	}
	return false
}

func syscallKill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// describe runs the bytes whose sum the caller checked: a binary replaced
// at its path after it was hashed is refused, and the new one never runs.
func TestDescribeRunsTheBytesThatWereHashed(t *testing.T) {
	_, fakeBin := testBinaries(t)
	dir := t.TempDir()
	bin := install(t, fakeBin, dir, "swapped")
	sum, err := discovery.SHA256(bin)
	must(t, err)
	other := install(t, fakeBin, t.TempDir(), "swapped")
	appendByte(t, other)
	must(t, os.Rename(other, bin))

	_, err = Describe(context.Background(), bin, sum, WithCacheDir(""))
	if err == nil || !strings.Contains(err.Error(), "not the "+sum+" it was checked as") {
		t.Errorf("Describe of a swapped binary = %v, want a refusal", err)
	}
	if ran := executed(t, dir); len(ran) != 0 {
		t.Errorf("the swapped binary ran: %v", ran)
	}
}
