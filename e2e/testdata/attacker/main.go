// Command attacker is what a hostile line of a Makefile does: it tries to
// read the signing keys, the core's environment, memory and descriptors,
// to ptrace the core, to write outside the work tree and to reach a
// loopback server, and prints for each attempt "NAME: ok" when it worked
// or "NAME: denied: why" when it did not. The box e2e test builds it.
//
//	attacker KEYFILE... -- OUTSIDE_FILE ADDR MARKER
package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	// ptrace's later calls must come from the thread that attached.
	runtime.LockOSThread()
	var keys []string
	args := os.Args[1:]
	for len(args) > 0 && args[0] != "--" {
		keys, args = append(keys, args[0]), args[1:]
	}
	if len(args) != 4 {
		fmt.Println("usage: attacker KEYFILE... -- OUTSIDE_FILE ADDR MARKER")
		os.Exit(2)
	}
	outside, addr, marker := args[1], args[2], args[3]
	for i, k := range keys {
		b, err := os.ReadFile(k)
		report(fmt.Sprintf("key%d", i), err, func() error { return want(b, "PRIVATE KEY") })
	}
	core, err := findCore()
	if err != nil {
		for _, n := range []string{"core-environ", "core-mem", "core-fd", "core-ptrace"} {
			report(n, err, nil)
		}
	} else {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", core))
		report("core-environ", err, func() error { return want(b, marker) })
		report("core-mem", readMem(core), nil)
		report("core-fd", openFD(core), nil)
		report("core-ptrace", ptrace(core), nil)
	}
	report("write-outside", os.WriteFile(outside, []byte("pwned\n"), 0o644), nil)
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err == nil {
		_, err = c.Write([]byte(marker + "\n"))
		c.Close()
	}
	report("connect", err, nil)
}

func report(name string, err error, check func() error) {
	if err == nil && check != nil {
		err = check()
	}
	if err != nil {
		fmt.Printf("%s: denied: %v\n", name, err)
		return
	}
	fmt.Printf("%s: ok\n", name)
}

func want(b []byte, s string) error {
	if !bytes.Contains(b, []byte(s)) {
		return fmt.Errorf("read %d bytes without %q", len(b), s)
	}
	return nil
}

// findCore is the PID of the mmbuild process that runs this build: among
// this process's ancestors, else (as pgrep would) any in sight.
func findCore() (int, error) {
	for pid := os.Getppid(); pid > 1; {
		if isMmbuild(pid) {
			return pid, nil
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			break
		}
		// pid (comm) state ppid …: the comm may hold spaces and parens.
		fields := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		if len(fields) < 2 {
			break
		}
		if pid, err = strconv.Atoi(fields[1]); err != nil {
			break
		}
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if isMmbuild(pid) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no mmbuild process in sight")
}

func isMmbuild(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	argv0, _, _ := strings.Cut(string(b), "\x00")
	return err == nil && filepath.Base(argv0) == "mmbuild"
}

// readMem reads a page of the core's memory through /proc/PID/mem.
func readMem(pid int) error {
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return err
	}
	start, _, _ := strings.Cut(string(maps), "-")
	addr, err := strconv.ParseInt(start, 16, 64)
	if err != nil {
		return fmt.Errorf("reading maps: %v", err)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 64)
	_, err = f.ReadAt(buf, addr)
	return err
}

func ptrace(pid int) error {
	if err := syscall.PtraceAttach(pid); err != nil {
		return err
	}
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, 0, nil)
	return syscall.PtraceDetach(pid)
}

// openFD opens one of the core's descriptors through /proc/PID/fd: the
// files, pipes and keys the core holds open. Listing their numbers is not
// the attack (root sees them where the core is not dumpable); opening one
// is.
func openFD(pid int) error {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	last := fmt.Errorf("no descriptor listed")
	for _, fd := range fds {
		f, err := os.Open(filepath.Join(dir, fd.Name()))
		if err == nil {
			f.Close()
			return nil
		}
		last = err
	}
	return last
}
