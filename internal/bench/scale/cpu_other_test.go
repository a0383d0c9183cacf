//go:build !linux

package scale

import (
	"os/exec"
	"time"
)

// reapOrphans is Linux-only (a child subreaper); elsewhere the CPU time of
// plugins mmbuild does not reap is not counted.
func reapOrphans() error { return nil }

func cpuTime(cmd *exec.Cmd) time.Duration {
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}
