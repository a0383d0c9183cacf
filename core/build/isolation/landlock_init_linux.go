package isolation

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// RunInit runs the landlock box's init when this process was started as one
// (its argv[0] is InitName), and then never returns. Otherwise it returns at
// once. mmbuild's main calls it first, before anything else runs; so does
// the TestMain of a package whose tests make landlock boxes.
func RunInit() {
	if len(os.Args) < 2 || os.Args[0] != InitName {
		return
	}
	code, err := initBox(os.Args[1], os.Args[2:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s%v\n", initFailed, err)
		os.Exit(125)
	}
	os.Exit(code)
}

// initBox applies the plan, starts the plugin (fd 3) with args in the box, and ends
// the box when the plugin exits or SIGTERM asks: it returns once no process
// of the box is left, with the plugin's exit status.
func initBox(arg string, args []string) (int, error) {
	var plan landlockPlan
	if err := json.Unmarshal([]byte(arg), &plan); err != nil {
		return 0, fmt.Errorf("reading its plan: %w", err)
	}
	abi := landlockABI()
	if abi < minLandlockABI {
		return 0, fmt.Errorf("landlock ABI %d, want %d or later", abi, minLandlockABI)
	}
	// Every process the build orphans (setsid, double forks) becomes this
	// init's child, so that it can reap them and knows when none is left.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("becoming the box's subreaper: %w", err)
	}
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT)

	type result struct {
		code int
		err  error
	}
	started := make(chan int, 1)
	done := make(chan result, 1)
	go func() {
		// This thread enters the box and never leaves it: it starts the
		// plugin and later kills the box's processes from inside, where
		// kill(-1) reaches the box only. The goroutine ends without
		// unlocking, so the Go runtime ends the thread with it.
		runtime.LockOSThread()
		pid, err := enterAndStart(plan, abi, args)
		if err != nil {
			started <- -1
			done <- result{err: err}
			return
		}
		started <- pid
		code := reapUntil(pid)
		endAll()
		done <- result{code: code}
	}()
	pid := <-started
	for {
		select {
		case r := <-done:
			return r.code, r.err
		case <-terms:
			if pid > 0 {
				// The box thread, blocked in wait4, wakes when the plugin
				// dies, and ends the rest from inside the box.
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
}

// enterAndStart applies the box to the calling (locked) thread and starts
// the plugin from it. The plugin is the open binary at fd 3, run by its
// path as argv[0].
func enterAndStart(plan landlockPlan, abi int, args []string) (int, error) {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("setting no_new_privs: %w", err)
	}
	// Root outside a user namespace keeps no capability in the box: with
	// no_new_privs, executing a program does not give them back.
	if os.Geteuid() == 0 {
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var none [2]unix.CapUserData
		if err := unix.Capset(&hdr, &none[0]); err != nil {
			return 0, fmt.Errorf("dropping capabilities: %w", err)
		}
	}
	rs, err := plan.ruleset(abi, 3)
	if err != nil {
		return 0, err
	}
	_, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rs), 0, 0)
	unix.Close(rs)
	if errno != 0 {
		return 0, fmt.Errorf("applying landlock: %w", errno)
	}
	// The kill(-1) that ends the box is safe only if the scope holds: the
	// core, outside the box, must be out of this thread's reach.
	if err := unix.Kill(os.Getppid(), 0); !errors.Is(err, unix.EPERM) {
		return 0, fmt.Errorf("landlock's signal scope did not apply (signalling mmbuild: %v)", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return 0, err
	}
	pid, err := syscall.ForkExec("/proc/self/fd/3", append([]string{plan.Program}, args...), &syscall.ProcAttr{
		Dir:   wd,
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2, 3},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return 0, fmt.Errorf("starting %s: %w", plan.Program, err)
	}
	return pid, nil
}

// reapUntil reaps the box's processes until the plugin, pid, exits, and
// returns its exit status as a shell would.
func reapUntil(pid int) int {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case err == unix.EINTR:
		case err != nil:
			return 125
		case got == pid && ws.Exited():
			return ws.ExitStatus()
		case got == pid && ws.Signaled():
			return 128 + int(ws.Signal())
		}
	}
}

// endAll kills every process of the box and reaps them: it returns once
// the init has no child left. It runs on the box's thread, so kill(-1)
// reaches the box's processes only (landlock's signal scope), never the
// init's own. A process that forks while it is killed fails to fork
// (a fatal signal is pending): the loop ends.
func endAll() {
	for {
		_ = unix.Kill(-1, unix.SIGKILL)
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case err == unix.ECHILD:
			return
		case err == unix.EINTR:
		case err != nil:
			return
		case got == 0:
			time.Sleep(time.Millisecond)
		}
	}
}
