//go:build unix && !linux

package makehandler

import "syscall"

// sysProcAttr puts make in its own process group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
