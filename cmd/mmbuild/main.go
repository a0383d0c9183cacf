// Command mmbuild wraps a build so that every input and output is
// controlled, verified and attested. The commands are thin: each fills an
// options struct and calls into core.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

func main() {
	// Started again as a landlock box's init, mmbuild is that init only.
	isolation.RunInit()
	plugin.ShortLivedGC()
	// The core holds keys and secrets: no build of the same user may read
	// its memory or environment, boxed or not.
	_ = isolation.ProtectCore()
	ctx, stop := signal.NotifyContext(context.Background(), endSignals()...)
	ctx, cancel := context.WithCancel(ctx)
	stopPipe := notifyBrokenPipe()
	code := execute(ctx, os.Args[1:], cancelOnBrokenPipe(os.Stdout, cancel), cancelOnBrokenPipe(os.Stderr, cancel))
	stopPipe()
	cancel()
	stop()
	os.Exit(code)
}
