package testservers

import (
	"os/exec"
	"syscall"
)

// s3KillWithParent has the kernel kill cmd when the test binary dies.
func s3KillWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
