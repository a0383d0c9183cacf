package isolation

import (
	"fmt"
	"strings"
)

// Mode says how hard a run insists on the box.
type Mode string

const (
	// ModeAuto applies the strongest box the machine allows, warns about
	// what it could not apply, and records what it applied (the default).
	ModeAuto Mode = "auto"
	// ModeRequired fails the run before the build when the full box
	// cannot be applied.
	ModeRequired Mode = "required"
	// ModeOff runs the builder as an ordinary child process, and says so.
	ModeOff Mode = "off"
)

// Modes lists the valid modes, for messages.
var Modes = []Mode{ModeAuto, ModeRequired, ModeOff}

// ParseMode reads a mode; "" is ModeAuto.
func ParseMode(s string) (Mode, error) { return parse(s, ModeAuto, Modes, "mode") }

// Network says what network the build reaches.
type Network string

const (
	// NetworkHost shares the machine's network (the default, so existing
	// builds keep working).
	NetworkHost Network = "host"
	// NetworkNone leaves the build a loopback interface of its own only.
	NetworkNone Network = "none"
)

// Networks lists the valid networks, for messages.
var Networks = []Network{NetworkHost, NetworkNone}

// ParseNetwork reads a network; "" is NetworkHost.
func ParseNetwork(s string) (Network, error) { return parse(s, NetworkHost, Networks, "network") }

// parse reads one of valid; "" is def.
func parse[T ~string](s string, def T, valid []T, what string) (T, error) {
	if s == "" {
		return def, nil
	}
	for _, v := range valid {
		if T(s) == v {
			return v, nil
		}
	}
	return "", fmt.Errorf("invalid isolation %s %q: expected %s", what, s, join(valid))
}

func join[T ~string](vals []T) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = string(v)
	}
	return strings.Join(s, " or ")
}

// Request is what the config (isolation:) and the flags ask for.
type Request struct {
	Mode    Mode
	Network Network
	// ReadOnly are further folders the build may read (a toolchain outside
	// the system folders), as absolute paths.
	ReadOnly []string
}

// Normalized returns r with its defaults filled in.
func (r Request) Normalized() Request {
	if r.Mode == "" {
		r.Mode = ModeAuto
	}
	if r.Network == "" {
		r.Network = NetworkHost
	}
	return r
}

// Spec is one box: the request, and the paths it is about. Every path is
// absolute and appears inside the box at the same path as outside, so that
// what the build records (paths in debug info, in logs) does not depend on
// the box.
type Spec struct {
	Request
	// WorkTree is the folder the build runs in, read-write.
	WorkTree string
	// Materials is the verified materials' folder, read-only.
	Materials string
	// Home is the user's home: an empty private folder at this path.
	Home string
	// TempDir is $TMPDIR when it is not /tmp: a private folder there too.
	TempDir string
	// Path lists the folders of $PATH: read-only, where they exist.
	Path []string
	// Hide are files the build must never see (the signing key, secret
	// files): masked wherever the box would show them.
	Hide []string
	// Sockets is the plugin's socket folder, the only core folder the
	// plugin reaches.
	Sockets string
	// Scratch is a private folder of the core's where a box that cannot
	// mount (landlock) makes the build's home and temporary folders.
	Scratch string
}

// Mechanisms a box can be made with, as recorded.
const (
	MechanismBubblewrap = "bubblewrap"
	MechanismNone       = "none"
)

// What a full box hides, as recorded.
var fullyHidden = []string{
	"signing-keys", "undeclared-secrets", "core-environment", "core-processes",
	"user-home", "workspace", "plugin-sockets", "host-filesystem",
}

// Applied is what a run's box really was: recorded in the provenance and
// checked by policies.
type Applied struct {
	// Mode is the mode asked for.
	Mode Mode `json:"mode"`
	// Mechanism is what made the box: "bubblewrap", or "none" when the
	// builder ran as an ordinary process.
	Mechanism string `json:"mechanism"`
	// Namespaces are the Linux namespaces the build ran in.
	Namespaces []string `json:"namespaces,omitempty"`
	// Network is the network the build reached: "host" or "none".
	Network Network `json:"network"`
	// Hidden lists what the build could not see.
	Hidden []string `json:"hidden,omitempty"`
	// Missing says what auto mode could not apply, and why.
	Missing string `json:"missing,omitempty"`
	// Env are the variables the box sets for the build over its declared
	// ones: a landlock box's private HOME and TMPDIR. Per-run paths, not
	// recorded.
	Env []string `json:"-"`
}

// Full reports whether the box was applied whole.
func (a *Applied) Full() bool {
	return a != nil && a.Mechanism == MechanismBubblewrap && a.Missing == ""
}

// Off is what a run records when the builder ran unboxed: mode as asked,
// why in missing ("" when mode is off).
func Off(mode Mode, missing string) *Applied {
	return &Applied{Mode: mode, Mechanism: MechanismNone, Network: NetworkHost, Missing: missing}
}

// Applied is what a bubblewrap box of spec applies.
func (s Spec) Applied() *Applied {
	a := &Applied{
		Mode:       s.Mode,
		Mechanism:  MechanismBubblewrap,
		Namespaces: []string{"user", "mount", "pid", "ipc", "uts"},
		Network:    s.Network,
		Hidden:     fullyHidden,
	}
	if s.Network == NetworkNone {
		a.Namespaces = append(a.Namespaces, "network")
	}
	return a
}

// SetEnv returns env with each k=v of set in place of k's value.
func SetEnv(env []string, set ...string) []string {
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, s := range set {
			keep = keep && !strings.HasPrefix(s, k+"=")
		}
		if keep {
			out = append(out, kv)
		}
	}
	return append(out, set...)
}
