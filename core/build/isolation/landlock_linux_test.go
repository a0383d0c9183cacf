package isolation

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func landlockLauncher(t *testing.T) *Launcher {
	t.Helper()
	l, err := NewLandlockLauncher()
	if err != nil {
		t.Fatalf("this machine's kernel has landlock 6.12+, which the box test needs: %v", err)
	}
	return l
}

func landlockSpec(t *testing.T) Spec {
	s := testSpec(t)
	s.Scratch = filepath.Join(t.TempDir(), "scratch")
	return s
}

// TestLandlockFileSystem checks what a landlock box shows: the work tree
// read-write, the materials and the system read-only, a private home and
// temporary folder in HOME and TMPDIR, and nothing else: not the user's
// real home, not the host's /tmp, not a key outside the folders it reaches.
func TestLandlockFileSystem(t *testing.T) {
	s := landlockSpec(t)
	writeFile(t, filepath.Join(s.Materials, "m.txt"), "material")
	writeFile(t, filepath.Join(s.Home, "in-home"), "home")
	outside := filepath.Join(filepath.Dir(s.WorkTree), "outside.key")
	writeFile(t, outside, "PRIVATE-KEY-OUTSIDE")
	s.Hide = []string{outside}
	hostTmp, err := os.CreateTemp("", "host-tmp-")
	if err != nil {
		t.Fatal(err)
	}
	hostTmp.Close()
	defer os.Remove(hostTmp.Name())
	_, box, wait := launch(t, landlockLauncher(t), s, `
echo "material=$(cat "$1/m.txt")"
echo built > "$2/out.txt" && echo tree=rw
echo x 2>/dev/null > "$1/m.txt" || echo materials=ro
cat "$3/in-home" 2>/dev/null || echo realhome=denied
echo "home=$(ls -A "$HOME" | wc -l)"
echo t > "$TMPDIR/t" && echo tmp=rw
cat "$4" 2>/dev/null || echo outside=denied
touch /usr/pwned 2>/dev/null || echo usr=ro
cat "$5" 2>/dev/null || echo hosttmp=denied
echo x 2>/dev/null > "$2/../escape" || echo escape=denied
`, s.Materials, s.WorkTree, s.Home, outside, hostTmp.Name())
	if err := box.Started(); err != nil {
		t.Fatal(err)
	}
	out, err := wait()
	if err != nil {
		t.Fatalf("box: %v\n%s", err, out)
	}
	for _, want := range []string{"material=material", "tree=rw", "materials=ro", "realhome=denied", "home=0", "tmp=rw",
		"outside=denied", "usr=ro", "hosttmp=denied", "escape=denied"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("the box printed no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PRIVATE-KEY") {
		t.Errorf("the box read a hidden file:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(s.WorkTree, "out.txt")); string(b) != "built\n" {
		t.Errorf("what the build wrote in the work tree is not there: %q", b)
	}
	a := box.Applied
	if a.Mechanism != MechanismLandlock || a.Full() || !strings.Contains(a.Missing, "no namespaces") {
		t.Errorf("applied = %+v, want a landlock box that says what it lacks", a)
	}
	if !strings.Contains(strings.Join(a.Hidden, ","), "signing-keys") {
		t.Errorf("a key outside the box's folders is hidden, but the record says not: %+v", a)
	}
}

// TestLandlockCannotHideInTree: a file to hide inside the work tree stays
// readable under landlock (no mount to cover it), and the record says so.
func TestLandlockCannotHideInTree(t *testing.T) {
	s := landlockSpec(t)
	s.Hide = []string{filepath.Join(s.WorkTree, "key.pem")}
	writeFile(t, s.Hide[0], "PRIVATE")
	_, a := s.landlock(landlockABI(), filepath.Join(s.Scratch, "home"), filepath.Join(s.Scratch, "tmp"))
	if strings.Contains(strings.Join(a.Hidden, ","), "signing-keys") || !strings.Contains(a.Missing, "cannot hide") {
		t.Errorf("applied = %+v, want the in-tree key reported as not hidden", a)
	}
}

// TestLandlockTouchesNoOtherProcess: the build can neither signal nor
// trace a process outside its box, and ending the box (a kill(-1) from
// inside it) kills the box's processes only: a process of the same user
// outside survives.
func TestLandlockTouchesNoOtherProcess(t *testing.T) {
	marker := fmt.Sprint(5000000 + os.Getpid()%100000)
	outsider := exec.Command("sleep", marker)
	if err := outsider.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = outsider.Process.Kill(); _ = outsider.Wait() }()
	s := landlockSpec(t)
	done := filepath.Join(s.WorkTree, "tried")
	_, box, wait := launch(t, landlockLauncher(t), s, `
kill -0 $1 2>/dev/null && echo signal=ok || echo signal=denied
cat /proc/$1/environ >/dev/null 2>&1 && echo environ=ok || echo environ=denied
cat /proc/$2/environ >/dev/null 2>&1 && echo core=ok || echo core=denied
echo > "$3"
sleep 1000
`, fmt.Sprint(outsider.Process.Pid), fmt.Sprint(os.Getpid()), done)
	if err := box.Started(); err != nil {
		t.Fatal(err)
	}
	// The box is ended once it has tried (a busy machine starts it late).
	for deadline := time.Now().Add(20 * time.Second); !exists(done) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if err := box.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, _ := wait()
	for _, want := range []string{"signal=denied", "environ=denied", "core=denied"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("the box printed no %q:\n%s", want, out)
		}
	}
	if len(sleepers(marker)) != 1 {
		t.Errorf("ending the box killed a process outside it")
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
