package isolation

import "golang.org/x/sys/unix"

// ProtectCore makes the calling process (the core) non-dumpable: a process
// of the same user that is not root — a build running outside its box,
// where the machine refused one — can then no longer read its
// /proc/<pid>/environ, mem or fd, nor ptrace it. Inside a box the build
// cannot see the core at all; this is the layer beneath.
func ProtectCore() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
