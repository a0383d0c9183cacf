// Command mmbuild wraps a build so that every input and output is
// controlled, verified and attested. The commands are thin: each fills an
// options struct and calls into core.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/mmbuild/mmbuild/sdk/plugin"
)

func main() {
	plugin.ShortLivedGC()
	ctx, stop := signal.NotifyContext(context.Background(), endSignals()...)
	ctx, cancel := context.WithCancel(ctx)
	stopPipe := notifyBrokenPipe()
	code := execute(ctx, os.Args[1:], cancelOnBrokenPipe(os.Stdout, cancel), cancelOnBrokenPipe(os.Stderr, cancel))
	stopPipe()
	cancel()
	stop()
	os.Exit(code)
}
