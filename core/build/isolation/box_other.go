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

// MechanismLandlock is a box made with landlock (Linux only).
const MechanismLandlock = "landlock"

// NetworkNoTCP is network: none under an older landlock (Linux only).
const NetworkNoTCP Network = "no-tcp"

// InitName is the landlock box's init's name (Linux only).
const InitName = "mmbuild-box-init"

// NewLandlockLauncher fails: landlock is Linux's.
func NewLandlockLauncher() (*Launcher, error) {
	return nil, &UnavailableError{Reason: "landlock is Linux's; this is " + runtime.GOOS}
}

// Mechanism is what the launcher's boxes are made with.
func (l *Launcher) Mechanism() string { return MechanismBubblewrap }

// RunInit returns: there is no landlock box on this system.
func RunInit() {}
