package isolation

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Box is one started box: its init process, pinned by a pidfd so that a
// reused PID is never signalled.
type Box struct {
	Applied *Applied
	infoR   *os.File
	infoW   *os.File
	pidfd   int
	pid     int
	// end is the signal End sends the box's init: SIGKILL for
	// bubblewrap's (the kernel then ends its PID namespace), SIGTERM for
	// the landlock box's, which ends the box's processes itself.
	end unix.Signal
	// startPidfd is where starting the landlock box's init puts its
	// pidfd; cmd is that init's command, for kernels (or seccomp filters)
	// that give no pidfd at start.
	startPidfd *int
	cmd        *exec.Cmd
	// mntns holds the box's mount namespace (nil: none held), so that
	// the namespace outlives its processes: see End.
	mntns *os.File
}

// Command returns the command that runs the executable exe (an open file:
// the bytes that were verified are the bytes that run) in the box spec
// describes, as path (its argv[0], where the box shows exe read-only:
// plugins may read their name from it), with env as its whole
// environment. Once the command has started, call Box.Started.
func (l *Launcher) Command(spec Spec, exe *os.File, path string, env []string) (*exec.Cmd, *Box, error) {
	if !filepath.IsAbs(path) {
		return nil, nil, fmt.Errorf("the box runs a program by its absolute path, not %q", path)
	}
	if l.landlock > 0 {
		return l.landlockCommand(spec, exe, path, env)
	}
	spec.Request = spec.Request.Normalized()
	args, err := spec.args(os.Getuid(), os.Getgid())
	if err != nil {
		return nil, nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("making the box: %w", err)
	}
	// fd 3 is the executable, mounted at its path (the mount follows the
	// descriptor to the file that was opened and verified, whatever the
	// path names now); fd 4 is where bubblewrap writes the PID of the
	// box's init.
	args = append(args, "--ro-bind", "/proc/self/fd/3", path, "--info-fd", "4", "--", path)
	cmd := exec.Command(l.bwrap, args...)
	cmd.ExtraFiles = []*os.File{exe, w}
	cmd.Env = env
	return cmd, &Box{Applied: spec.Applied(), infoR: r, infoW: w, pidfd: -1, end: unix.SIGKILL}, nil
}

// Started reads the PID of the box's init once the command runs, and pins
// it. The box's every process is that init's descendant in its own PID
// namespace: when the init ends, the kernel ends them all.
func (b *Box) Started() error {
	if b.startPidfd != nil {
		fd := *b.startPidfd
		b.startPidfd = nil
		if fd < 0 {
			// The init is mmbuild's child and has just answered: its PID
			// is not reused before mmbuild reaps it.
			if b.cmd == nil || b.cmd.Process == nil {
				return fmt.Errorf("watching the box's init process: it has not started")
			}
			var err error
			if fd, err = unix.PidfdOpen(b.cmd.Process.Pid, 0); err != nil {
				return fmt.Errorf("watching the box's init process %d: %w", b.cmd.Process.Pid, err)
			}
		}
		b.pidfd = fd
		return nil
	}
	if b.infoW != nil {
		b.infoW.Close()
		b.infoW = nil
	}
	var info struct {
		ChildPID int `json:"child-pid"`
	}
	if err := json.NewDecoder(b.infoR).Decode(&info); err != nil || info.ChildPID <= 0 {
		return fmt.Errorf("reading the box's init process from bubblewrap: %v", err)
	}
	b.infoR.Close()
	b.infoR = nil
	fd, err := unix.PidfdOpen(info.ChildPID, 0)
	if err != nil {
		return fmt.Errorf("watching the box's init process %d: %w", info.ChildPID, err)
	}
	b.pid, b.pidfd = info.ChildPID, fd
	b.mntns = holdMountNamespace(fd, info.ChildPID)
	return nil
}

// pidfdGetMntNamespace is PIDFD_GET_MNT_NAMESPACE (Linux 6.11): the mount
// namespace of a pidfd's process, as a new descriptor.
const pidfdGetMntNamespace = 0xFF03

// holdMountNamespace opens the mount namespace of the box's init (its
// pidfd is pidfd, its PID pid), or returns nil where it cannot: holding it
// is only faster (see End), never needed.
func holdMountNamespace(pidfd, pid int) *os.File {
	if ns, err := unix.IoctlRetInt(pidfd, pidfdGetMntNamespace); err == nil {
		return os.NewFile(uintptr(ns), "mntns")
	}
	// Before 6.11, by its PID: the namespace opened is the init's if the
	// init still runs once it is open (a PID is reused only after its
	// process ended).
	ns, err := unix.Open(fmt.Sprintf("/proc/%d/ns/mnt", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	if n, _ := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, 0); n != 0 {
		unix.Close(ns)
		return nil
	}
	return os.NewFile(uintptr(ns), "mntns")
}

// End kills every process in the box and returns once they are all gone:
// a PID namespace's init exits only after every other process in it is
// gone, and the landlock box's init only once it has reaped them all, so
// its pidfd turns readable only then.
//
// Its mount namespace is not waited for: the core holds it (mntns), so
// the last process of the box leaves it behind instead of unmounting its
// tree, which waits for an RCU grace period (a few ms, more on a busy
// machine) before that process is gone. With nothing left that can run in
// it, the namespace is released in the background.
func (b *Box) End(ctx context.Context) error {
	defer b.releaseMountNamespace()
	if b.pidfd < 0 {
		return nil
	}
	if err := unix.PidfdSendSignal(b.pidfd, b.end, nil, 0); err != nil && err != unix.ESRCH {
		return fmt.Errorf("ending the box: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		fds := []unix.PollFd{{Fd: int32(b.pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 50)
		if n > 0 {
			return nil
		}
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("ending the box: %w", err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("ending the box: %w", ctx.Err())
		}
		if time.Now().After(deadline) {
			_ = unix.PidfdSendSignal(b.pidfd, unix.SIGKILL, nil, 0)
			return fmt.Errorf("ending the box: its processes did not end within 30s of %v", b.end)
		}
	}
}

// releaseMountNamespace lets the box's mount namespace go: its unmounting
// runs in the background, off the run's path.
func (b *Box) releaseMountNamespace() {
	if b.mntns == nil {
		return
	}
	go b.mntns.Close()
	b.mntns = nil
}

// Close releases what the box holds; it does not end it.
func (b *Box) Close() {
	b.releaseMountNamespace()
	for _, f := range []*os.File{b.infoR, b.infoW} {
		if f != nil {
			f.Close()
		}
	}
	b.infoR, b.infoW = nil, nil
	if b.startPidfd != nil && *b.startPidfd >= 0 {
		unix.Close(*b.startPidfd)
	}
	b.startPidfd = nil
	if b.pidfd >= 0 {
		unix.Close(b.pidfd)
		b.pidfd = -1
	}
}
