//go:build !linux

package main

import (
	"os/exec"
	"time"
)

// countOrphans is Linux-only (a child subreaper); elsewhere the CPU time of
// plugins mmbuild does not reap is not counted.
func countOrphans() error { return nil }

func cpuTime(cmd *exec.Cmd) (time.Duration, error) {
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}
