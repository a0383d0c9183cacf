package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The CPU of a process the command left behind (as mmbuild leaves the
// plugins it kills) is counted, and a command that leaves one running is an
// error, not a hang.
func TestCPUTimeCountsOrphans(t *testing.T) {
	if err := countOrphans(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, script string
		wait         time.Duration
		wantErr      string
		wantMin      time.Duration
	}{
		// The orphan busy-loops after its parent exited.
		{name: "orphan counted", script: `(i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done) & exit 0`, wait: 10 * time.Second, wantMin: 20 * time.Millisecond},
		{name: "orphan still running", script: `sleep 2 & echo $! > "$PIDFILE"; exit 0`, wait: 100 * time.Millisecond, wantErr: "still runs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := orphanWait
			orphanWait = tc.wait
			defer func() { orphanWait = old }()
			pidFile := filepath.Join(t.TempDir(), "pid")
			cmd := exec.Command("/bin/sh", "-c", tc.script)
			cmd.Env = append(os.Environ(), "PIDFILE="+pidFile)
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			own := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			got, err := cpuTime(cmd)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				out, _ := os.ReadFile(pidFile)
				if pid, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got-own < tc.wantMin {
				t.Fatalf("counted %v, the shell alone %v: the orphan's CPU is missing", got, own)
			}
		})
	}
}
