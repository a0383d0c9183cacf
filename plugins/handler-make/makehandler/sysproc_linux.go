package makehandler

import "syscall"

// sysProcAttr puts make in its own process group, and has the kernel kill it
// if the plugin dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
