// Command mmbuild wraps a build so that every input and output is
// controlled, verified and attested. The commands are thin: each fills an
// options struct and calls into core.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mmbuild/mmbuild/sdk/plugin"
)

func main() {
	plugin.ShortLivedGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
