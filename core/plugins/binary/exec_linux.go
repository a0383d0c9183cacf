package binary

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ExecPath is the path to execute so that the open file runs, whatever its
// path names by then: /proc/self/fd/N of a duplicate descriptor numbered
// high, so the child's own descriptor set-up (0, 1, 2, extra files) cannot
// land on it. The duplicate is close-on-exec: the plugin does not inherit
// it. Call it once per start; Close closes the duplicate too.
func (b *File) ExecPath() (string, error) {
	fd, err := unix.FcntlInt(b.f.Fd(), unix.F_DUPFD_CLOEXEC, 100)
	if err != nil {
		return "", fmt.Errorf("preparing plugin binary %s: %w", b.Path, err)
	}
	b.dups = append(b.dups, fd)
	return fmt.Sprintf("/proc/self/fd/%d", fd), nil
}

func closeDups(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}

// ExecInherited is, with the open file to hand to the process as its
// descriptor 3 (cmd.ExtraFiles[0]), the path to execute so that the open
// file runs: /proc/self/fd/3. Unlike ExecPath's, that descriptor outlives
// the exec, so the interpreter of a script (#!) opens the verified file
// too; the process inherits it, so this is for short runs (describe).
func (b *File) ExecInherited() (path string, extra *os.File) { return "/proc/self/fd/3", b.f }
