// Package testenv builds the real mmbuild and first-party plugin binaries
// once per test process and lays out installations and projects around
// them, so end-to-end tests take the path a user's run takes: discovery,
// the lock file, the checksum check.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Plugins maps each first-party plugin's name to the module folder its
// binary is built from, as the Makefile builds it: make and file are the
// one bundle of plugins/local, built under both names (the same bytes).
var Plugins = map[string]string{
	"make":      "plugins/local",
	"file":      "plugins/local",
	"http":      "plugins/storage-http",
	"git":       "plugins/storage-git",
	"s3":        "plugins/storage-s3",
	"oci":       "plugins/storage-oci",
	"sbom-syft": "plugins/sbom-syft",
}

// standalone are the plugin modules built outside the workspace
// (GOWORK=off), as the Makefile's STANDALONE builds them.
var standalone = map[string]bool{"plugins/sbom-syft": true}

// linked are the plugins installed as hard links rather than copies: large
// binaries no test modifies (the syft cataloger is over 100 MB).
var linked = map[string]bool{"sbom-syft": true}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binDirPrefix names the folders Bin builds into, one per test process,
// suffixed with its PID.
const binDirPrefix = "mmbuild-testbin-"

// sweepBinDirs removes the binary folders of test processes that have
// ended: a go test process cannot remove its own at exit, and each holds
// ~300 MB (121 of them filled this machine's disk once).
func sweepBinDirs() {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), binDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		if pid, err := strconv.Atoi(suffix); err == nil && pid > 0 && pid <= 1<<22 && processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(os.TempDir(), e.Name()))
	}
}

// Bin returns the folder holding freshly built binaries: mmbuild,
// mmbuild-plugin-<name> for each first-party plugin, and
// mmbuild-testplugin-faulty. Built once per test process.
func Bin(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the real binaries: skipped with -short")
	}
	buildOnce.Do(func() {
		sweepBinDirs()
		binDir = filepath.Join(os.TempDir(), fmt.Sprintf("%s%d", binDirPrefix, os.Getpid()))
		if buildErr = os.Mkdir(binDir, 0o700); buildErr != nil {
			return
		}
		root := Root()
		builds := [][2]string{
			{root, "./cmd/mmbuild:mmbuild"},
			{root, "./internal/testplugins/faulty:mmbuild-testplugin-faulty"},
		}
		for name, dir := range Plugins {
			builds = append(builds, [2]string{filepath.Join(root, dir), ".:mmbuild-plugin-" + name})
		}
		workOff := map[string]bool{}
		for dir := range standalone {
			workOff[filepath.Join(root, dir)] = true
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, b := range builds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pkg, out, _ := strings.Cut(b[1], ":")
				args := []string{"build", "-trimpath"}
				if workOff[b[0]] {
					// Without -trimpath the standalone plugin's packages
					// are the ones `make check` (go vet) already compiled:
					// syft's ~700 modules are not compiled twice.
					args = []string{"build"}
				}
				if raceEnabled && out == "mmbuild" {
					args = append(args, "-race")
				}
				cmd := exec.Command("go", append(args, "-o", filepath.Join(binDir, out), pkg)...)
				cmd.Dir = b[0]
				if workOff[b[0]] {
					cmd.Env = append(os.Environ(), "GOWORK=off")
				}
				if msg, err := cmd.CombinedOutput(); err != nil {
					mu.Lock()
					buildErr = fmt.Errorf("go build %s: %v\n%s", out, err, msg)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// Install is one installation: PREFIX/bin with mmbuild and the plugins
// beside it (what `make install` lays out), and an isolated home.
type Install struct {
	t      testing.TB
	Prefix string
	BinDir string
	Home   string
	// Env is the environment mmbuild runs with; tests may append.
	Env []string
}

// NewInstall copies the binaries into a fresh PREFIX/bin.
func NewInstall(t testing.TB) *Install {
	t.Helper()
	src := Bin(t)
	prefix := t.TempDir()
	in := &Install{t: t, Prefix: prefix, BinDir: filepath.Join(prefix, "bin"), Home: filepath.Join(prefix, "home")}
	for _, d := range []string{in.BinDir, in.Home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(src, "mmbuild"), filepath.Join(in.BinDir, "mmbuild"))
	for name := range Plugins {
		from, to := filepath.Join(src, "mmbuild-plugin-"+name), filepath.Join(in.BinDir, "mmbuild-plugin-"+name)
		if linked[name] && os.Link(from, to) == nil {
			continue
		}
		copyFile(t, from, to)
	}
	in.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + in.Home,
		"XDG_DATA_HOME=" + filepath.Join(in.Home, "data"),
		"XDG_CACHE_HOME=" + filepath.Join(in.Home, "cache"),
		"TMPDIR=" + os.TempDir(),
		"LANG=C",
	}
	// After the test, no process started from this install may be left:
	// mmbuild, its plugins and whatever they started must all be gone.
	t.Cleanup(func() { in.checkNoOrphans() })
	return in
}

// checkNoOrphans fails the test when a process whose executable lies in
// the install (mmbuild, a plugin) is still alive a few seconds after the
// test, and kills it.
func (in *Install) checkNoOrphans() {
	var left []int
	for i := 0; i < 30; i++ {
		if left = processesUnder(in.Prefix); len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, pid := range left {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		in.t.Errorf("process %d (%s) outlived the test", pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
}

// processesUnder lists the live processes whose executable is under dir.
func processesUnder(dir string) []int {
	var out []int
	for _, p := range Processes() {
		if strings.HasPrefix(p.Exe, dir+string(filepath.Separator)) {
			out = append(out, p.PID)
		}
	}
	return out
}

// Process is a live process, as /proc shows it.
type Process struct {
	PID, PPID int
	Exe       string // the executable's path ("" when not readable)
	Cmdline   string // the arguments, joined by spaces
}

// Processes lists the live processes (zombies awaiting their parent left
// out). Without /proc it finds none.
func Processes() []Process {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		exe, _ := os.Readlink("/proc/" + e.Name() + "/exe")
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out = append(out, Process{PID: pid, PPID: ppid, Exe: exe, Cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))})
	}
	return out
}

// FaultyPlugin installs the misbehaving test plugin as mmbuild-plugin-NAME
// in dir, replacing what is there.
func (in *Install) FaultyPlugin(dir, name string) string {
	in.t.Helper()
	dst := filepath.Join(dir, "mmbuild-plugin-"+name)
	_ = os.Remove(dst)
	copyFile(in.t, filepath.Join(Bin(in.t), "mmbuild-testplugin-faulty"), dst)
	return dst
}

// Result is one finished command.
type Result struct {
	Code           int
	Stdout, Stderr string
	Duration       time.Duration
}

// Run runs mmbuild with args in dir and waits (2 minutes at most).
func (in *Install) Run(dir string, args ...string) Result {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := in.Command(ctx, dir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String(), Duration: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		res.Code = ee.ExitCode()
	} else if err != nil {
		in.t.Fatalf("running mmbuild %v: %v", args, err)
	}
	return res
}

// Command prepares mmbuild with args in dir.
func (in *Install) Command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(in.BinDir, "mmbuild"), args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), in.Env...), "PWD="+dir)
	return cmd
}

// MustRun is Run that fails the test on a non-zero exit.
func (in *Install) MustRun(dir string, args ...string) Result {
	in.t.Helper()
	r := in.Run(dir, args...)
	if r.Code != 0 {
		in.t.Fatalf("mmbuild %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// CopyTree copies the folder src to dst (regular files and folders).
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		copyFileMode(t, p, target, fi.Mode().Perm())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Example copies examples/NAME into a fresh folder and returns it.
func Example(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	CopyTree(t, filepath.Join(Root(), "examples", name), dir)
	for _, junk := range []string{"build", "dist", "out", "build.env", "mmbuild.lock.hcl"} {
		_ = os.RemoveAll(filepath.Join(dir, junk))
	}
	return dir
}

func copyFile(t testing.TB, src, dst string) { copyFileMode(t, src, dst, 0o755) }

func copyFileMode(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

var (
	casOnce sync.Once
	casBin  string
	casErr  error
)

// ThirdPartyPlugin copies mmbuild-plugin-cas (internal/testplugins/thirdparty)
// into the install's bin folder and returns its path. It is built once, as
// a third party builds a plugin: outside the workspace (GOWORK=off), against
// the SDK through its own go.mod.
func (in *Install) ThirdPartyPlugin() string {
	in.t.Helper()
	casOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mmbuild-cas-")
		if err != nil {
			casErr = err
			return
		}
		casBin = filepath.Join(dir, "mmbuild-plugin-cas")
		cmd := exec.Command("go", "build", "-trimpath", "-o", casBin, ".")
		cmd.Dir = filepath.Join(Root(), "internal", "testplugins", "thirdparty")
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			casErr = fmt.Errorf("building the third-party plugin (GOWORK=off): %v\n%s", err, out)
		}
	})
	if casErr != nil {
		in.t.Fatal(casErr)
	}
	dst := filepath.Join(in.BinDir, "mmbuild-plugin-cas")
	copyFile(in.t, casBin, dst)
	return dst
}
