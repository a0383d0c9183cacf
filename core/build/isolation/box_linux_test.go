package isolation

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// boxCommand prepares /bin/sh -c script args... in a box of spec.
func boxCommand(t *testing.T, spec Spec, script string, args ...string) (*os.File, *Box, func() (string, error)) {
	t.Helper()
	l, err := NewLauncher()
	if err != nil {
		t.Fatal(err)
	}
	return launch(t, l, spec, script, args...)
}

// launch prepares /bin/sh -c script args... in a box l makes of spec.
func launch(t *testing.T, l *Launcher, spec Spec, script string, args ...string) (*os.File, *Box, func() (string, error)) {
	t.Helper()
	sh, err := os.Open("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Close() })
	cmd, box, err := l.Command(spec, sh, "/bin/sh", []string{"PATH=/usr/bin:/bin", "HOME=" + spec.Home})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(box.Close)
	cmd.Args = append(append(cmd.Args, "-c", script, "sh"), args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	// A process the box failed to end holds the output pipe open: Wait
	// then gives up after a while, and the test's own checks fail.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return sh, box, func() (string, error) { err := cmd.Wait(); return out.String(), err }
}

func testSpec(t *testing.T) Spec {
	t.Helper()
	ws := t.TempDir()
	s := Spec{
		Request:   Request{Mode: ModeAuto, Network: NetworkHost},
		WorkTree:  filepath.Join(ws, "work"),
		Materials: filepath.Join(ws, "materials"),
		Home:      filepath.Join(ws, "home"),
	}
	for _, d := range []string{s.WorkTree, s.Materials, s.Home} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBoxFileSystem checks what the build sees: the work tree read-write,
// materials read-only, a private empty home and /tmp, hidden files masked
// where they would show, and nothing else of the host.
func TestBoxFileSystem(t *testing.T) {
	s := testSpec(t)
	writeFile(t, filepath.Join(s.Materials, "m.txt"), "material")
	writeFile(t, filepath.Join(s.Home, "in-home"), "home")
	inTree := filepath.Join(s.WorkTree, "key.pem")
	writeFile(t, inTree, "PRIVATE-KEY-IN-TREE")
	outside := filepath.Join(filepath.Dir(s.WorkTree), "outside.key")
	writeFile(t, outside, "PRIVATE-KEY-OUTSIDE")
	s.Hide = []string{inTree, outside}
	hostTmp, err := os.CreateTemp("", "host-tmp-")
	if err != nil {
		t.Fatal(err)
	}
	hostTmp.Close()
	defer os.Remove(hostTmp.Name())
	_, box, wait := boxCommand(t, s, `
echo "material=$(cat "$1/m.txt")"
echo built > "$2/out.txt" && echo tree=rw
echo x 2>/dev/null > "$1/m.txt" || echo materials=ro
echo "home=$(ls -A "$HOME" | wc -l)"
echo "intree=$(cat "$3" 2>&1)"
cat "$4" 2>/dev/null || echo outside=absent
touch /usr/pwned 2>/dev/null || echo usr=ro
test -e "$5" || echo hosttmp=absent
echo "procs=$(ls /proc | grep -c '^[0-9]')"
`, s.Materials, s.WorkTree, inTree, outside, hostTmp.Name())
	if err := box.Started(); err != nil {
		t.Fatal(err)
	}
	out, err := wait()
	if err != nil {
		t.Fatalf("box: %v\n%s", err, out)
	}
	for _, want := range []string{"material=material", "tree=rw", "materials=ro", "home=0", "outside=absent", "usr=ro", "hosttmp=absent"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("the box printed no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PRIVATE-KEY") {
		t.Errorf("the box read a hidden file:\n%s", out)
	}
	// bubblewrap's init, sh, the command substitution's shell, ls and
	// grep: the host's processes are not there.
	var procs int
	if _, err := fmt.Sscanf(out[strings.Index(out, "procs="):], "procs=%d", &procs); err != nil || procs > 6 {
		t.Errorf("the box sees processes that are not its own:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(s.WorkTree, "out.txt")); string(b) != "built\n" {
		t.Errorf("what the build wrote in the work tree is not there: %q", b)
	}
}

// launchers are the box makers every box test runs with: bubblewrap, and
// the landlock fallback (with its scratch folder in spec).
func launchers(t *testing.T) map[string]func(*Spec) *Launcher {
	return map[string]func(*Spec) *Launcher{
		MechanismBubblewrap: func(*Spec) *Launcher {
			l, err := NewLauncher()
			if err != nil {
				t.Fatal(err)
			}
			return l
		},
		MechanismLandlock: func(s *Spec) *Launcher {
			s.Scratch = filepath.Join(t.TempDir(), "scratch")
			return landlockLauncher(t)
		},
	}
}

// TestBoxNetworkNone checks that network: none keeps the build off a
// server on the host's loopback: bubblewrap leaves it a loopback of its
// own, landlock denies TCP (and records that it denies no more).
func TestBoxNetworkNone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	for mech, launcher := range launchers(t) {
		for _, tc := range []struct {
			network Network
			want    string
		}{{NetworkHost, "reached"}, {NetworkNone, "refused"}} {
			t.Run(mech+"/"+string(tc.network), func(t *testing.T) {
				s := testSpec(t)
				s.Network = tc.network
				// bash's /dev/tcp is a real connect(2).
				_, box, wait := launch(t, launcher(&s), s, `/bin/bash -c "echo > /dev/tcp/127.0.0.1/$1" 2>/dev/null && echo reached || echo refused`, port)
				if err := box.Started(); err != nil {
					t.Fatal(err)
				}
				out, _ := wait()
				if strings.TrimSpace(out) != tc.want {
					t.Errorf("connecting to the host's loopback with network %s: %q, want %q", tc.network, out, tc.want)
				}
				if mech == MechanismLandlock && tc.network == NetworkNone && box.Applied.Network == NetworkNone && landlockABI() < 10 {
					t.Errorf("the record claims network none, but UDP is not restricted: %+v", box.Applied)
				}
			})
		}
	}
}

// TestBoxEnd checks that ending a box ends every process in it, those that
// left its session (setsid) or their parent (double fork) included, and
// that End returns only once they are gone.
func TestBoxEnd(t *testing.T) {
	for mech, launcher := range launchers(t) {
		t.Run(mech, func(t *testing.T) {
			s := testSpec(t)
			marker := fmt.Sprint(4000000 + len(mech)*100000 + os.Getpid()%100000)
			_, box, wait := launch(t, launcher(&s), s, `setsid sleep $1 & (sleep $1 &) ; sleep $1`, marker)
			if err := box.Started(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(sleepers(marker)) < 3 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := len(sleepers(marker)); n != 3 {
				t.Fatalf("%d processes started in the box, want 3", n)
			}
			if err := box.End(context.Background()); err != nil {
				t.Fatal(err)
			}
			if left := sleepers(marker); len(left) > 0 {
				t.Errorf("processes left once End returned: %v", left)
			}
			_, _ = wait()
		})
	}
}

// sleepers are the PIDs of processes running "sleep marker".
func sleepers(marker string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && string(b) == "sleep\x00"+marker+"\x00" {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestBoxHoldsMountNamespace checks that the core holds a running
// bubblewrap box's mount namespace: the box's last process then leaves it
// behind instead of unmounting its tree (an RCU grace period) while End
// waits for it. End lets it go.
func TestBoxHoldsMountNamespace(t *testing.T) {
	s := testSpec(t)
	_, box, wait := boxCommand(t, s, `sleep 30`)
	if err := box.Started(); err != nil {
		t.Fatal(err)
	}
	if box.mntns == nil {
		t.Fatal("the box's mount namespace is not held")
	}
	var held, boxed, own unix.Stat_t
	for _, err := range []error{
		unix.Fstat(int(box.mntns.Fd()), &held),
		unix.Stat(fmt.Sprintf("/proc/%d/ns/mnt", box.pid), &boxed),
		unix.Stat("/proc/self/ns/mnt", &own),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if held.Ino != boxed.Ino || held.Ino == own.Ino {
		t.Errorf("the namespace held (%d) is not the box's (%d) but, perhaps, the core's (%d)", held.Ino, boxed.Ino, own.Ino)
	}
	if err := box.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	if box.mntns != nil {
		t.Error("the box's mount namespace is still held once End returned")
	}
	_, _ = wait()
}
