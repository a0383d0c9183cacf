package isolation

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// systemDirs are the system's folders the build sees read-only (or as the
// symlinks they are, as on merged-/usr systems).
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"}

// mount is one step of the box's file system, in bubblewrap's terms.
type mount struct {
	op       string // --bind, --ro-bind, --tmpfs, --dev, --proc, --symlink
	src, dst string
}

func (m mount) args() []string {
	switch m.op {
	case "--tmpfs", "--dev", "--proc":
		return []string{m.op, m.dst}
	default:
		return []string{m.op, m.src, m.dst}
	}
}

// depth orders mounts: a folder is mounted before anything inside it.
func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(filepath.Clean(p), "/")
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// args are bubblewrap's arguments for the box, up to the command: the
// namespaces, then the file system, every mount after the ones it lies in.
func (s Spec) args(uid, gid int) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	a := []string{
		// A user namespace also when root: the build's root then holds
		// capabilities over the box only, never over the machine.
		"--unshare-user", "--uid", strconv.Itoa(uid), "--gid", strconv.Itoa(gid),
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		// The box dies with mmbuild; setsid keeps it off mmbuild's
		// terminal (no TIOCSTI into the shell that runs mmbuild).
		"--die-with-parent", "--new-session", "--cap-drop", "ALL",
	}
	if s.Network == NetworkNone {
		a = append(a, "--unshare-net")
	}
	for _, m := range s.mounts() {
		a = append(a, m.args()...)
	}
	return append(a, "--chdir", s.WorkTree), nil
}

// check refuses a spec no box can be made of.
func (s Spec) check() error {
	for _, p := range append([]string{s.WorkTree, s.Materials, s.Sockets}, s.ReadOnly...) {
		if p != "" && !filepath.IsAbs(p) {
			return fmt.Errorf("the box needs absolute paths, not %q", p)
		}
	}
	if s.WorkTree == "" || s.WorkTree == "/" {
		return errors.New("the work tree is empty or / : a box that shows the build its work tree read-write would show it everything")
	}
	return nil
}

// mounts is the box's file system, shallowest first.
func (s Spec) mounts() []mount {
	var ms []mount
	visible := []string{} // host folders the box shows
	for _, d := range systemDirs {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(d); err == nil {
				ms = append(ms, mount{op: "--symlink", src: target, dst: d})
			}
		case fi.IsDir():
			ms = append(ms, mount{op: "--ro-bind", src: d, dst: d})
			visible = append(visible, d)
		}
	}
	ms = append(ms, mount{op: "--dev", dst: "/dev"}, mount{op: "--proc", dst: "/proc"}, mount{op: "--tmpfs", dst: "/tmp"})
	private := []string{"/tmp"}
	for _, d := range []string{s.TempDir, s.Home} {
		if d != "" && filepath.IsAbs(d) && d != "/" && !s.isSystem(d) && !within(s.WorkTree, d) {
			ms = append(ms, mount{op: "--tmpfs", dst: filepath.Clean(d)})
			private = append(private, filepath.Clean(d))
		}
	}
	for _, d := range s.readOnly(visible, private) {
		ms = append(ms, mount{op: "--ro-bind", src: d, dst: d})
		visible = append(visible, d)
	}
	ms = append(ms, mount{op: "--bind", src: s.WorkTree, dst: s.WorkTree})
	visible = append(visible, s.WorkTree)
	if s.Materials != "" {
		ms = append(ms, mount{op: "--ro-bind", src: s.Materials, dst: s.Materials})
		visible = append(visible, s.Materials)
	}
	if s.Sockets != "" {
		ms = append(ms, mount{op: "--bind", src: s.Sockets, dst: s.Sockets})
	}
	ms = append(ms, s.masks(visible)...)
	sort.SliceStable(ms, func(i, j int) bool { return depth(ms[i].dst) < depth(ms[j].dst) })
	return ms
}

func (s Spec) isSystem(p string) bool {
	for _, d := range systemDirs {
		if within(p, d) {
			return true
		}
	}
	return false
}

// readOnly are the folders of $PATH and the config's read-only folders
// that the box shows besides the system: never one that holds a private
// folder (home, /tmp, the workspace, the sockets), whose contents the box
// hides, and not one the system folders already show.
func (s Spec) readOnly(visible, private []string) []string {
	var out []string
	seen := map[string]bool{}
	guarded := append([]string{}, private...)
	for _, p := range []string{s.Materials, s.Sockets} {
		if p != "" {
			guarded = append(guarded, filepath.Dir(p))
		}
	}
	for _, d := range append(append([]string{}, s.Path...), s.ReadOnly...) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		d = filepath.Clean(d)
		// A system folder is shown already, as a folder or as the
		// symlink it is (/bin on a merged-/usr system): a bind over the
		// symlink would mount what it points to a second time.
		if seen[d] || within(d, s.WorkTree) || s.isSystem(d) {
			continue
		}
		seen[d] = true
		covered := false
		for _, v := range visible {
			covered = covered || within(d, v)
		}
		for _, g := range guarded {
			covered = covered || within(g, d)
		}
		if fi, err := os.Stat(d); covered || err != nil || !fi.IsDir() {
			continue
		}
		out = append(out, d)
	}
	return out
}

// masks hide the files of s.Hide (by their path and by what it resolves
// to) wherever a folder the box shows holds them: an empty file is mounted
// over each.
func (s Spec) masks(visible []string) []mount {
	var out []mount
	seen := map[string]bool{}
	for _, h := range s.Hide {
		abs, err := filepath.Abs(h)
		if err != nil {
			continue
		}
		cands := []string{abs}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			cands = append(cands, real)
		}
		for _, c := range cands {
			fi, err := os.Lstat(c)
			if err != nil || seen[c] || fi.Mode()&os.ModeSymlink != 0 {
				continue
			}
			for _, v := range visible {
				if within(c, v) {
					seen[c] = true
					if fi.IsDir() {
						out = append(out, mount{op: "--tmpfs", dst: c})
					} else {
						out = append(out, mount{op: "--ro-bind", src: "/dev/null", dst: c})
					}
					break
				}
			}
		}
	}
	return out
}
