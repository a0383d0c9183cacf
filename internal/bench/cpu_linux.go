package main

import (
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

// countOrphans makes this process the reaper of every descendant orphaned
// while it runs. mmbuild kills its plugin processes and exits without
// reaping them; as their reaper, the bench collects them and counts their
// CPU time with the run that started them.
func countOrphans() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return errno
	}
	return nil
}

// cpuTime is the user and system time of a finished command and of every
// descendant it left behind, which it reaps. The plugins a run killed end at
// once; a descendant still running after orphanWait (a daemon a build left)
// is an error rather than a bench that hangs.
func cpuTime(cmd *exec.Cmd) (time.Duration, error) {
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	total := rusageTime(ru)
	deadline := time.Now().Add(orphanWait)
	for {
		var ws syscall.WaitStatus
		var r syscall.Rusage
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, &r)
		switch {
		case err == syscall.EINTR:
		case err == syscall.ECHILD:
			return total, nil // none left
		case err != nil:
			return 0, fmt.Errorf("reaping what the command left: %w", err)
		case pid > 0:
			total += rusageTime(&r)
		case time.Now().After(deadline):
			return 0, fmt.Errorf("a process the command started still runs %v after it exited", orphanWait)
		default:
			time.Sleep(200 * time.Microsecond)
		}
	}
}

// orphanWait bounds how long the processes a command left may take to end.
var orphanWait = 10 * time.Second

func rusageTime(ru *syscall.Rusage) time.Duration {
	if ru == nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
