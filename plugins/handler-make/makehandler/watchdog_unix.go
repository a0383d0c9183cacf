//go:build unix

package makehandler

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// watchdogScript kills make's process group when this plugin dies while
// make runs. It is what stops a build's processes when the plugin itself is
// SIGKILLed (or dies with mmbuild, through Pdeathsig): nothing inside the
// plugin can act then, and make's children, unlike make, do not die with
// it. Its stdin is a pipe whose only writer is this plugin: the group's id
// comes first, then "done" once the plugin has dealt with the group itself.
// A plugin that dies closes the pipe instead, and the read that was waiting
// for "done" ends at once: no polling, no other process.
const watchdogScript = `read -r g || exit 0
read -r state
[ "$state" = done ] || kill -KILL -"$g" 2>/dev/null`

// watchdog is a process outside make's group and session that kills the
// group if this plugin dies while make runs.
type watchdog struct {
	cmd *exec.Cmd
	w   *os.File // the write end of its stdin
}

// startWatchdog starts a watchdog, before make, so that no moment of the
// build is unguarded. It is best effort: without /bin/sh there is none, and
// a build still runs.
func startWatchdog() *watchdog {
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	defer r.Close() // the watchdog holds the read end
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "mmbuild-make-watchdog")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil
	}
	return &watchdog{cmd: cmd, w: w}
}

// guard hands the watchdog the process group to kill.
func (w *watchdog) guard(pgid int) {
	if w != nil {
		_, _ = w.w.WriteString(strconv.Itoa(pgid) + "\n")
	}
}

// stop ends the watchdog once make's group is dealt with (or make never
// started): it exits without killing anything.
func (w *watchdog) stop() {
	if w == nil {
		return
	}
	_, _ = w.w.WriteString("done\n")
	w.w.Close()
	_ = w.cmd.Wait()
}
