package scale

import (
	"os/exec"
	"syscall"
	"time"
)

// reapOrphans makes the test the reaper of every descendant orphaned while
// it runs: mmbuild kills its plugins and exits without reaping them, and
// their CPU time counts with the run that started them.
func reapOrphans() error {
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return errno
	}
	return nil
}

// cpuTime is the user and system time of a finished command and of the
// descendants it left, reaped as they end (the plugins a run killed end at
// once). Children that keep running (the S3 server) are left alone: the
// reaping stops once nothing has ended for 100 ms.
func cpuTime(cmd *exec.Cmd) time.Duration {
	total := rusage(cmd.ProcessState.SysUsage().(*syscall.Rusage))
	quiet := time.Now()
	for time.Since(quiet) < 100*time.Millisecond {
		var ws syscall.WaitStatus
		var r syscall.Rusage
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, &r)
		switch {
		case err == syscall.EINTR:
		case err != nil: // ECHILD: none left
			return total
		case pid > 0:
			total += rusage(&r)
			quiet = time.Now()
		default:
			time.Sleep(5 * time.Millisecond)
		}
	}
	return total
}

func rusage(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
