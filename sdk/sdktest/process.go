package sdktest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Process helpers of the handler suite: which processes a build left behind.

// readPIDs reads the whitespace-separated PIDs of a PID file.
func readPIDs(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 1 {
			return nil, fmt.Errorf("reading %s: %q is not a PID", path, f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// ProcessGone reports whether process pid has ended: it does not exist, or
// it is a zombie that another process than this one has to reap (an orphan
// under an init that does not reap is dead all the same). A zombie child of
// this process is not gone: whoever started it has not reaped it. Where
// there is no signal 0 (Windows) it reports true.
func ProcessGone(pid int) bool {
	if runtime.GOOS == "windows" {
		return true // no signal 0 there; the check is Unix-only
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	defer func() { _ = p.Release() }()
	if err := p.Signal(syscall.Signal(0)); errors.Is(err, os.ErrProcessDone) {
		return true
	}
	state, ppid, ok := procStat(pid)
	return ok && state == "Z" && ppid != os.Getpid()
}

// procStat reads a process's state and parent from /proc (Linux); ok is
// false where there is no /proc.
func procStat(pid int) (state string, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return "", 0, false
	}
	return f[0], ppid, true
}

// processName describes pid for a failure message.
func processName(pid int) string {
	desc := "unknown command"
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(b) > 0 {
		desc = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	} else if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil {
		desc = strings.TrimSpace(string(b))
	}
	if state, _, ok := procStat(pid); ok && state == "Z" {
		desc += ", a zombie this process has not reaped"
	}
	return desc
}

// killLeftovers kills what a failed cancel case left running, so one broken
// handler does not leave sleepers behind the test run.
func killLeftovers(pidFile string) {
	pids, _ := readPIDs(pidFile)
	for _, pid := range pids {
		if !ProcessGone(pid) {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
				_ = p.Release()
			}
		}
	}
}
