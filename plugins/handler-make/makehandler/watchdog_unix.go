//go:build unix

package makehandler

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// watchdogScript waits for the plugin to die, then kills make's process
// group. It is what stops a build's processes when the plugin itself is
// SIGKILLed (or dies with mmbuild, through Pdeathsig): nothing inside the
// plugin can act then, and make's children, unlike make, do not die with
// it.
const watchdogScript = `p=$1; g=$2
while kill -0 "$p" 2>/dev/null; do sleep 0.2; done
kill -KILL -"$g" 2>/dev/null`

// watchdog is a process outside make's group and session that kills the
// group if this plugin dies while make runs.
type watchdog struct{ cmd *exec.Cmd }

// startWatchdog starts the watchdog of process group pgid. It is best
// effort: without /bin/sh there is none, and a build still runs.
func startWatchdog(pgid int) *watchdog {
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "mmbuild-make-watchdog", strconv.Itoa(os.Getpid()), strconv.Itoa(pgid))
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil
	}
	return &watchdog{cmd: cmd}
}

// stop ends the watchdog once make's group is dealt with.
func (w *watchdog) stop() {
	if w == nil {
		return
	}
	_ = w.cmd.Process.Kill()
	_ = w.cmd.Wait()
}
