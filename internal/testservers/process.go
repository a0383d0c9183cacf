package testservers

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runServer starts cmd (a server that stays in the foreground), waits until
// up reports it answers, at most timeout, and stops it when the test ends:
// SIGTERM, then SIGKILL after 5 s. Its output is logged under name if the
// test failed. An error means it exited, or did not answer in time; it is
// stopped then.
func runServer(t testing.TB, cmd *exec.Cmd, name, where string, timeout time.Duration, up func() bool) error {
	t.Helper()
	out := &s3Output{}
	cmd.Stdout, cmd.Stderr = out, out
	s3KillWithParent(cmd) // never outlive the test binary, where the OS allows
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(timeout)
	for !up() {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before answering (%v):\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("no answer on %s within %v:\n%s", where, timeout, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			if log := strings.TrimSpace(out.String()); log != "" {
				t.Logf("%s output:\n%s", name, log)
			}
		}
	})
	return nil
}
