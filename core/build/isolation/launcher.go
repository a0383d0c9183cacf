package isolation

import (
	"os"
	"os/exec"
	"strings"
)

// bwrapLocations are where a system's package manager puts bubblewrap;
// these are tried before $PATH, which a build's config cannot change but a
// user's shell set-up may.
var bwrapLocations = []string{"/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"}

// UnavailableError says why no box can be made on this machine, and how
// to allow it.
type UnavailableError struct {
	Reason string // what is missing
	Fix    string // how to allow it
}

func (e *UnavailableError) Error() string {
	if e.Fix == "" {
		return e.Reason
	}
	return e.Reason + " (" + e.Fix + ")"
}

// Launcher starts processes in boxes made by bubblewrap (bwrap), the
// sandbox Flatpak uses: user, mount, PID, IPC and UTS namespaces (and a
// network one for network: none), the file system of Spec, no capability.
type Launcher struct {
	bwrap string
	// landlock is the kernel's landlock ABI when the launcher makes
	// landlock boxes (NewLandlockLauncher), run by the mmbuild program
	// self as their init.
	landlock int
	self     string
}

// NewLauncher finds bubblewrap: $MMBUILD_BWRAP, else the system's
// locations, else $PATH. It does not run it: whether the kernel lets it
// make namespaces shows when the first box starts.
func NewLauncher() (*Launcher, error) {
	if p := os.Getenv("MMBUILD_BWRAP"); p != "" {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return nil, &UnavailableError{Reason: "MMBUILD_BWRAP=" + p + " is not a program"}
		}
		return &Launcher{bwrap: p}, nil
	}
	for _, p := range bwrapLocations {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return &Launcher{bwrap: p}, nil
		}
	}
	if p, err := exec.LookPath("bwrap"); err == nil {
		return &Launcher{bwrap: p}, nil
	}
	return nil, &UnavailableError{
		Reason: "bubblewrap (bwrap) is not installed",
		Fix:    "install it: apt-get install bubblewrap, dnf install bubblewrap, apk add bubblewrap",
	}
}

// Refused reports whether stderr, what a box's start printed, is
// bubblewrap refusing to make the box (the kernel or a seccomp filter
// refused a namespace) or the landlock box's init failing to apply it,
// and returns its message.
func Refused(stderr string) (string, bool) {
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if msg, ok := strings.CutPrefix(line, "bwrap: "); ok {
			return "bubblewrap: " + msg, true
		}
		if msg, ok := strings.CutPrefix(line, initFailed); ok {
			return "landlock: " + msg, true
		}
	}
	return "", false
}

// initFailed starts the line the landlock box's init prints when it cannot
// make the box.
const initFailed = "mmbuild: the landlock box: "

// RefusedError is a box the kernel refused to make.
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string {
	return "the kernel refused the build's box: " + e.Msg +
		" (allow unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces>0," +
		" or in a container a seccomp profile that permits unshare/clone of namespaces; or set isolation: {mode: off})"
}
