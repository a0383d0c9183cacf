package isolation

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The landlock box is the fallback where the kernel refuses namespaces (an
// unprivileged container's seccomp profile, user namespaces switched off):
// landlock is an LSM any process may apply to itself, no privilege and no
// namespace needed. It is weaker than the bubblewrap box, and the record
// says how: no mount namespace (so no private /tmp at /tmp: HOME and
// TMPDIR point at private folders instead, and a file to hide inside a
// folder the build reaches cannot be hidden), no PID namespace (the build
// sees the machine's processes, though it can neither signal nor trace one
// outside its box), no network namespace (network: none denies TCP; UDP
// only where the kernel's landlock restricts it too).
//
// Landlock binds the thread that applies it and what that thread starts
// afterwards, and a Go program cannot run code between fork and exec. So
// the box's init is the mmbuild program itself, started again under a name
// of its own (InitName): it applies landlock on one locked thread, starts
// the plugin from that thread, becomes the subreaper of everything the
// plugin starts, and on SIGTERM (or when the plugin exits) kills every
// process of the box and reaps them before it exits. The kill is
// kill(-1, SIGKILL) from the box's own thread: landlock's signal scope
// makes exactly the processes of the box its targets.

// InitName is the name (argv[0]) under which the mmbuild program runs as
// the landlock box's init.
const InitName = "mmbuild-box-init"

// MechanismLandlock is a box made with landlock, where namespaces are
// refused.
const MechanismLandlock = "landlock"

// NetworkNoTCP is what network: none is under landlock before its UDP
// rules (ABI 10): TCP connect and bind denied, the rest not. Never asked
// for, only recorded: a policy that requires network: none refuses it.
const NetworkNoTCP Network = "no-tcp"

// minLandlockABI is the oldest landlock that can make the box: 6 scopes
// signals, without which the init's kill(-1) would reach every process of
// the user, and the build could signal the core.
const minLandlockABI = 6

// landlockABI is the kernel's landlock ABI version, 0 when it has none.
func landlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// NewLandlockLauncher makes landlock boxes, or says why it cannot.
func NewLandlockLauncher() (*Launcher, error) {
	abi := landlockABI()
	if abi < minLandlockABI {
		reason := "landlock is not enabled in this kernel"
		if abi > 0 {
			reason = fmt.Sprintf("landlock ABI %d is older than %d, which scopes signals", abi, minLandlockABI)
		}
		return nil, &UnavailableError{Reason: reason, Fix: "a Linux kernel of 6.12 or later with landlock in lsm="}
	}
	// The running program's own file, whatever its path names now: the
	// init is the very mmbuild that runs, not one put in its place.
	return &Launcher{landlock: abi, self: "/proc/self/exe"}, nil
}

// Mechanism is what the launcher's boxes are made with.
func (l *Launcher) Mechanism() string {
	if l.landlock > 0 {
		return MechanismLandlock
	}
	return MechanismBubblewrap
}

// landlockPlan is what the init applies: paths by the access the build has
// beneath them. It travels as the init's argument (paths only, no secret).
type landlockPlan struct {
	ReadExec  []string `json:"readExec"`  // the system, $PATH, read-only folders, materials
	ReadOnly  []string `json:"readOnly"`  // /proc, /sys
	ReadWrite []string `json:"readWrite"` // the work tree, private home and tmp, the plugin's sockets
	Devices   []string `json:"devices"`   // /dev: read, write and device ioctls, nothing made
	Sockets   string   `json:"sockets"`   // the plugin's own socket folder
	NoNetwork bool     `json:"noNetwork"` // deny TCP (and UDP where the ABI can)
	Program   string   `json:"program"`   // the plugin's path, its argv[0]
}

// landlockCommand is Command for a landlock launcher.
func (l *Launcher) landlockCommand(spec Spec, exe *os.File, path string, env []string) (*exec.Cmd, *Box, error) {
	if err := spec.check(); err != nil {
		return nil, nil, err
	}
	if spec.Scratch == "" || !filepath.IsAbs(spec.Scratch) {
		return nil, nil, fmt.Errorf("the landlock box needs a scratch folder for the build's home and tmp")
	}
	home, tmp := filepath.Join(spec.Scratch, "home"), filepath.Join(spec.Scratch, "tmp")
	for _, d := range []string{home, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, nil, fmt.Errorf("making the box's private folders: %w", err)
		}
	}
	plan, applied := spec.landlock(l.landlock, home, tmp)
	plan.Program = path
	arg, err := json.Marshal(plan)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(l.self, string(arg))
	cmd.Args[0] = InitName
	cmd.ExtraFiles = []*os.File{exe}
	applied.Env = []string{"HOME=" + home, "TMPDIR=" + tmp}
	cmd.Env = SetEnv(env, applied.Env...)
	cmd.Dir = spec.WorkTree
	b := &Box{Applied: applied, pidfd: -1, end: unix.SIGTERM, startPidfd: new(int)}
	*b.startPidfd = -1
	// The init gets SIGTERM when mmbuild dies: it then ends the box as if
	// asked. Its own session keeps the build off mmbuild's terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setsid: true, PidFD: b.startPidfd}
	b.cmd = cmd
	return cmd, b, nil
}

// landlock is the plan of the box spec describes under a landlock of
// version abi, and what that box applies.
func (s Spec) landlock(abi int, home, tmp string) (landlockPlan, *Applied) {
	s.Request = s.Request.Normalized()
	p := landlockPlan{
		ReadOnly:  []string{"/proc", "/sys"},
		ReadWrite: []string{s.WorkTree, home, tmp},
		Devices:   []string{"/dev"},
		Sockets:   s.Sockets,
		NoNetwork: s.Network == NetworkNone,
	}
	for _, d := range systemDirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			p.ReadExec = append(p.ReadExec, d)
		}
	}
	p.ReadExec = append(p.ReadExec, s.readOnly(p.ReadExec, []string{home, tmp, s.Home, s.TempDir, "/tmp"})...)
	if s.Materials != "" {
		p.ReadExec = append(p.ReadExec, s.Materials)
	}
	if s.Sockets != "" {
		p.ReadWrite = append(p.ReadWrite, s.Sockets)
	}

	a := &Applied{Mode: s.Mode, Mechanism: MechanismLandlock, Network: s.Network}
	missing := []string{"no namespaces: the build sees the machine's processes (it can neither signal nor trace one outside its box) and gets private HOME and TMPDIR folders instead of a private /tmp"}
	reach := append(append(append(append([]string{}, p.ReadExec...), p.ReadOnly...), p.ReadWrite...), p.Devices...)
	exposed := 0
	for _, h := range s.Hide {
		for _, c := range resolved(h) {
			if reachable(c, reach) {
				exposed++
				break
			}
		}
	}
	hidden := []string{"core-environment", "core-memory", "user-home", "workspace", "host-filesystem"}
	if exposed == 0 {
		hidden = append(hidden, "signing-keys", "undeclared-secrets")
	} else {
		missing = append(missing, fmt.Sprintf("%d file(s) to hide (a signing key or a secret's file) lie in a folder the build reaches: landlock cannot hide a file there", exposed))
	}
	if abi >= 9 {
		hidden = append(hidden, "plugin-sockets")
	} else {
		missing = append(missing, fmt.Sprintf("other plugins' sockets are reachable by path (landlock ABI %d; 9 restricts them)", abi))
	}
	if s.Network == NetworkNone && abi < 10 {
		a.Network = NetworkNoTCP
		missing = append(missing, fmt.Sprintf("network: none denies TCP only, not UDP (landlock ABI %d; 10 restricts UDP)", abi))
	}
	a.Hidden = hidden
	a.Missing = "landlock box: " + strings.Join(missing, "; ")
	return p, a
}

// resolved are p made absolute, and what its links resolve to.
func resolved(p string) []string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil
	}
	out := []string{abs}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		out = append(out, real)
	}
	return out
}

// reachable reports whether p lies in one of dirs (or their real paths).
func reachable(p string, dirs []string) bool {
	for _, d := range dirs {
		for _, r := range resolved(d) {
			if within(p, r) {
				return true
			}
		}
	}
	return false
}

// Landlock access rights, by what a folder is to the build.
const (
	llRead      = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	llReadExec  = llRead | unix.LANDLOCK_ACCESS_FS_EXECUTE
	llFileRead  = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_EXECUTE
	llDevices   = llRead | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	llMakeNodes = unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK
)

// handledFS are the file-system rights a landlock of version abi knows;
// the box handles them all, so whatever no rule grants is denied.
func handledFS(abi int) uint64 {
	h := uint64(unix.LANDLOCK_ACCESS_FS_MAKE_SYM<<1) - 1 // ABI 1
	if abi >= 2 {
		h |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		h |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		h |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	if abi >= 9 {
		h |= unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX
	}
	return h
}

// ruleset makes the landlock ruleset of plan for version abi. exe is the
// plugin's open binary: the one file outside the granted folders the box
// may execute.
func (p landlockPlan) ruleset(abi int, exe int) (int, error) {
	handled := handledFS(abi)
	attr := unix.LandlockRulesetAttr{
		Handled_access_fs: handled,
		Scoped:            unix.LANDLOCK_SCOPE_SIGNAL | unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET,
	}
	if p.NoNetwork {
		attr.Handled_access_net = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
		if abi >= 10 {
			attr.Handled_access_net |= unix.LANDLOCK_ACCESS_NET_BIND_UDP | unix.LANDLOCK_ACCESS_NET_CONNECT_SEND_UDP
		}
	}
	// The first three fields are every ABI's that scopes; the rest (quiet
	// rules, ABI 10) stay zero, so their size is left out.
	size := unsafe.Offsetof(attr.Scoped) + unsafe.Sizeof(attr.Scoped)
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return -1, fmt.Errorf("creating the landlock ruleset: %w", errno)
	}
	rs := int(fd)
	add := func(path string, access uint64, file bool) error {
		f, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil // a folder that is not there grants nothing
		}
		defer unix.Close(f)
		var st unix.Stat_t
		if err := unix.Fstat(f, &st); err != nil {
			return nil
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if !file {
				return nil
			}
			access &= llFileRead | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
		}
		return addRule(rs, f, access&handled)
	}
	grants := []struct {
		paths  []string
		access uint64
	}{
		{p.ReadExec, llReadExec},
		{p.ReadOnly, llRead},
		{p.Devices, llDevices},
		{p.ReadWrite, handled &^ llMakeNodes &^ unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX},
	}
	for _, g := range grants {
		for _, path := range g.paths {
			if err := add(path, g.access, false); err != nil {
				unix.Close(rs)
				return -1, err
			}
		}
	}
	if p.Sockets != "" && abi >= 9 {
		if err := add(p.Sockets, unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX, false); err != nil {
			unix.Close(rs)
			return -1, err
		}
	}
	// The plugin's binary, by its open descriptor: the verified bytes.
	if err := addRule(rs, exe, llFileRead); err != nil {
		unix.Close(rs)
		return -1, err
	}
	return rs, nil
}

// addRule grants access beneath the open path fd.
func addRule(ruleset, fd int, access uint64) error {
	attr := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("adding a landlock rule: %w", errno)
	}
	return nil
}
