package pluginhost

import (
	"os/exec"
	"syscall"
)

// setPdeathsig makes the kernel kill the plugin if mmbuild dies without
// killing it (SIGKILL, a crash): no plugin outlives mmbuild.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
