// Command nonamespaces runs a command under a seccomp filter that refuses
// every new namespace, as the default seccomp profile of a container
// runtime does for an unprivileged container: clone and unshare with a
// CLONE_NEW* flag fail with EPERM, clone3 (whose flags a filter cannot
// read) with ENOSYS, so that callers fall back to clone. The box e2e test
// runs mmbuild under it. With -no-landlock, landlock's syscalls fail with
// ENOSYS too, as on a kernel built without it.
//
//	nonamespaces [-no-landlock] PROGRAM ARGS...
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	ldAbs   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	jeq     = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jset    = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	ret     = unix.BPF_RET | unix.BPF_K
	retErr  = 0x00050000 // SECCOMP_RET_ERRNO
	retOK   = 0x7fff0000 // SECCOMP_RET_ALLOW
	newNS   = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET
	argsOff = 16 // offsetof(struct seccomp_data, args[0]), its low half on little-endian machines
)

func main() {
	args := os.Args[1:]
	noLandlock := len(args) > 0 && args[0] == "-no-landlock"
	if noLandlock {
		args = args[1:]
	}
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: nonamespaces [-no-landlock] PROGRAM ARGS...")
		os.Exit(2)
	}
	// The filter binds the thread that installs it, and execve keeps it:
	// both on one thread.
	runtime.LockOSThread()
	prog := []unix.SockFilter{
		{Code: ldAbs, K: 0}, // the syscall number
		{Code: jeq, Jt: 7, K: unix.SYS_CLONE3},
		{Code: jeq, Jt: 6, K: landlockCall(noLandlock)},
		{Code: jeq, Jt: 1, K: unix.SYS_CLONE},
		{Code: jeq, Jf: 2, K: unix.SYS_UNSHARE},
		{Code: ldAbs, K: argsOff},
		{Code: jset, Jt: 1, K: newNS},
		{Code: ret, K: retOK},
		{Code: ret, K: retErr | uint32(unix.EPERM)},
		{Code: ret, K: retErr | uint32(unix.ENOSYS)},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail(err)
	}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&fprog)), 0, 0); err != nil {
		fail(err)
	}
	path, err := lookPath(args[0])
	if err != nil {
		fail(err)
	}
	fail(syscall.Exec(path, args, os.Environ()))
}

// landlockCall is the syscall the filter refuses besides clone3: landlock's
// first (without it, landlock cannot be used), or one no program makes.
func landlockCall(refuse bool) uint32 {
	if refuse {
		return unix.SYS_LANDLOCK_CREATE_RULESET
	}
	return 0xffff
}

func lookPath(p string) (string, error) {
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "nonamespaces:", err)
	os.Exit(1)
}
