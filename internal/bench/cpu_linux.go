package main

import (
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
// descendant it left behind, which it reaps (waiting for them: the plugins
// a run killed end at once).
func cpuTime(cmd *exec.Cmd) time.Duration {
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	total := rusageTime(ru)
	for {
		var ws syscall.WaitStatus
		var r syscall.Rusage
		pid, err := syscall.Wait4(-1, &ws, 0, &r)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil { // ECHILD: none left
			return total
		}
		total += rusageTime(&r)
	}
}

func rusageTime(ru *syscall.Rusage) time.Duration {
	if ru == nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
