//go:build unix

package testenv

import "syscall"

// processAlive reports whether a process pid exists (ours or another
// user's).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
