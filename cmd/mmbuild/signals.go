package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// endSignals are the signals that end mmbuild the way Ctrl-C does: the
// run's context is cancelled, so plugins and the builder are stopped and
// the workspace is removed before mmbuild exits. SIGHUP (the terminal or
// the CI job's session went away) joins them, unless mmbuild was started
// with it ignored (nohup): catching it then would undo what the user asked.
func endSignals() []os.Signal {
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	return sigs
}

// notifyBrokenPipe asks for SIGPIPE, so that a write to a closed stdout or
// stderr (`mmbuild run | head -3`) fails with EPIPE instead of killing
// mmbuild on the spot, workspace and plugins left behind;
// cancelOnBrokenPipe then ends the run cleanly. The signal itself is
// dropped: the kernel raises it for every write to any closed pipe or
// socket (a plugin's connection too), and which one it was only the
// failing write knows. Notify, unlike signal.Ignore, leaves the signal's
// default in place for the processes mmbuild starts.
func notifyBrokenPipe() (stop func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGPIPE)
	return func() { signal.Stop(c) }
}

// cancelOnBrokenPipe wraps w (stdout or stderr) so that a write failing
// because its reader has gone cancels the run, as SIGTERM would.
func cancelOnBrokenPipe(w io.Writer, cancel context.CancelFunc) io.Writer {
	return brokenPipeWriter{w: w, cancel: cancel}
}

type brokenPipeWriter struct {
	w      io.Writer
	cancel context.CancelFunc
}

func (b brokenPipeWriter) Write(p []byte) (int, error) {
	n, err := b.w.Write(p)
	if errors.Is(err, syscall.EPIPE) {
		b.cancel()
	}
	return n, err
}
