//go:build unix

package makehandler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/mmbuild/mmbuild/sdk/handler"
)

// run starts make in its own process group, streams its output, and waits
// for it; on cancel it stops the whole group. It always reaps make.
func (h *Handler) run(ctx context.Context, c *command) (*handler.BuildResponse, error) {
	// Our own pipes rather than exec's: Wait then returns when make exits,
	// and we decide how long to wait for the output of what it left behind.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("creating stderr pipe: %w", err)
	}
	cmd := exec.Command(c.path, c.args...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = sysProcAttr()
	// Should this plugin die before make's group is gone (SIGKILLed, or
	// with mmbuild), the watchdog kills the group.
	wd := startWatchdog()
	defer wd.stop()
	err = cmd.Start()
	outW.Close() // make holds the write ends now
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("starting make: %w", err)
	}
	pgid := cmd.Process.Pid
	wd.guard(pgid)

	copied := make(chan error, 2)
	go func() { copied <- pump(c.stdout, outR) }()
	go func() { copied <- pump(c.stderr, errR) }()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var waitErr error
	cancelled := false
	select {
	case waitErr = <-exited:
	case <-ctx.Done():
		cancelled = true
		signalGroup(pgid, syscall.SIGTERM)
		grace := time.NewTimer(h.killGrace)
		select {
		case waitErr = <-exited:
		case <-grace.C:
			signalGroup(pgid, syscall.SIGKILL)
			waitErr = <-exited
		}
		grace.Stop()
	}
	// make is reaped. Anything it left in its group (a recipe's background
	// job, a shell still dying from SIGTERM) goes too. The group id cannot
	// have been reused in between unless the group was already empty.
	signalGroup(pgid, syscall.SIGKILL)

	stuck, copyErr := drain(copied, h.drainGrace, outR, errR)
	if stuck {
		fmt.Fprintf(c.stderr, "make handler: stopped reading output %v after make exited: a process that left make's process group still holds it\n", h.drainGrace)
	}
	if cancelled {
		return nil, fmt.Errorf("running make: %w", ctx.Err())
	}
	var exit *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exit) {
		return nil, fmt.Errorf("waiting for make: %w", waitErr)
	}
	if copyErr != nil {
		return nil, fmt.Errorf("streaming make output: %w", copyErr)
	}
	return &handler.BuildResponse{ExitCode: cmd.ProcessState.ExitCode()}, nil
}

// signalGroup signals every process of the group; a group already gone is
// not an error.
func signalGroup(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
}

// pump copies r to w as data comes, until r ends or is closed. After a
// failed write it keeps reading, so make never blocks on a full pipe, and
// returns the write error.
func pump(w io.Writer, r io.Reader) error {
	buf := make([]byte, 32<<10)
	var werr error
	for {
		n, err := r.Read(buf)
		if n > 0 && werr == nil {
			_, werr = w.Write(buf[:n])
		}
		if err != nil {
			return werr
		}
	}
}

// drain waits for both pumps to finish, and closes the pipes. After grace
// it closes them under the pumps (stuck reports it): a process outside the
// group may hold the write ends forever.
func drain(copied <-chan error, grace time.Duration, pipes ...*os.File) (stuck bool, err error) {
	timer := time.NewTimer(grace)
	defer timer.Stop()
	var errs []error
	for n := 0; n < len(pipes); {
		select {
		case e := <-copied:
			errs = append(errs, e)
			n++
		case <-timer.C:
			stuck = true
			for _, p := range pipes {
				p.Close()
			}
		}
	}
	for _, p := range pipes {
		p.Close()
	}
	return stuck, errors.Join(errs...)
}
