//go:build !linux

package isolation

import (
	"context"
	"os"
	"os/exec"
	"runtime"
)

// Box is a started box; there are none on this system.
type Box struct{ Applied *Applied }

// Command fails: boxes are made with Linux namespaces.
func (l *Launcher) Command(spec Spec, exe *os.File, path string, env []string) (*exec.Cmd, *Box, error) {
	return nil, nil, &UnavailableError{Reason: "the build's box needs Linux namespaces; this is " + runtime.GOOS}
}

func (b *Box) Started() error                { return nil }
func (b *Box) End(ctx context.Context) error { return nil }
func (b *Box) Close()                        {}
