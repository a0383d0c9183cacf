package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// attempts are what the attacker program tries, by the name it reports.
// (write-outside is checked on the host: the box's /tmp, where the test's
// folders are, is a private one that takes writes and forgets them.)
var attempts = []string{"key0", "key1", "core-environ", "core-mem", "core-fd", "core-ptrace", "connect"}

// The builder in a box: a hostile Makefile tries to read both signing keys
// (the --sign-key file in the user's home, and the config's key in the work
// tree), the core's environment, memory and descriptors, to ptrace the
// core, to write outside the work tree, to reach a server of the test on
// loopback under network: none, and to leave daemons behind (setsid, and a
// double fork). Under the default box every attempt fails and the build
// still succeeds; with mode: off every attempt works, which shows the test
// can fail.
//
// Where the kernel refuses namespaces (the seccomp wrapper), auto falls
// back to a landlock box: every attempt fails as well, but for the key in
// the work tree, which landlock cannot hide (and the record says so).
func TestBoxHostileMakefile(t *testing.T) {
	wrapper := buildNoNamespaces(t)
	for _, tc := range []struct {
		name      string
		mode      string
		wrapper   string
		succeed   bool            // whether each attempt should work
		except    map[string]bool // attempts that go the other way
		mechanism string
	}{
		{"auto", "auto", "", false, nil, "bubblewrap"},
		{"landlock", "auto", wrapper, false, map[string]bool{"key1": true}, "landlock"},
		{"off", "off", "", true, nil, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := testenv.NewInstall(t)
			root := t.TempDir()
			home := filepath.Join(root, "home")
			dir := filepath.Join(root, "proj")
			outside := filepath.Join(root, "outside.txt")
			marker := fmt.Sprintf("CORE-ONLY-SECRET-%d", time.Now().UnixNano())
			srv := listen(t)
			writeFiles(t, dir, map[string]string{
				"Makefile": `all:
	@mkdir -p dist
	@./attacker "$(KEY0)" keys/tree.key -- "$(OUTSIDE)" "$(ADDR)" "$(MARKER)" > dist/report.txt 2>&1
	@setsid sleep 3331 >/dev/null 2>&1 </dev/null &
	@(sh -c 'sleep 3332 >/dev/null 2>&1 </dev/null &' &)
	@sleep 0.2
	@echo built > dist/out.txt
`,
				"mmbuild.yaml": `handler: {id: make, params: [all]}
secrets:
  - name: CORE_ONLY
    from: env://MMBUILD_TEST_CORE_ONLY
env:
  - {var: OUTSIDE, value: "` + outside + `"}
  - {var: KEY0, value: "` + filepath.Join(home, ".ci-build.key") + `"}
  - {var: ADDR, value: "` + srv.addr + `"}
  - {var: MARKER, value: "CORE-ONLY-SECRET-"}
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/report.txt", "dist/out.txt"]
provenance: out/
signing: {key: keys/tree.key}
isolation: {mode: ` + tc.mode + `, network: none}
`,
			})
			engineMustRun(t, in, root, "keys", "generate", "--out", filepath.Join(dir, "keys", "tree"))
			engineMustRun(t, in, root, "keys", "generate", "--out", filepath.Join(root, "ci"))
			if err := os.MkdirAll(home, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(root, "ci.key"), filepath.Join(home, ".ci-build.key")); err != nil {
				t.Fatal(err)
			}
			buildAttacker(t, filepath.Join(dir, "attacker"))
			// The attacker looks in the core's environment for the
			// secret's value, which only the core was given (the build
			// knows its prefix only).
			in.Env = append(in.Env, "HOME="+home, "MMBUILD_TEST_CORE_ONLY="+marker)
			in.MustRun(dir, "plugins", "lock")
			defer killSleepers(t)
			r := wrappedRun(t, in, tc.wrapper, dir, "run", "--sign-key", filepath.Join(home, ".ci-build.key"))
			if r.Code != 0 {
				t.Fatalf("mmbuild run: exit %d\n%s", r.Code, r.Stderr)
			}

			report := string(mustRead(t, filepath.Join(dir, "dist", "report.txt")))
			t.Logf("%s:\n%s", tc.name, report)
			for _, a := range attempts {
				ok := strings.Contains(report, a+": ok\n")
				if want := tc.succeed != tc.except[a]; ok != want {
					t.Errorf("%s: attempt %s: worked=%t, want %t", tc.name, a, ok, want)
				}
			}
			if got := exists(outside); got != tc.succeed {
				t.Errorf("mode %s: the file outside the work tree exists=%t, want %t", tc.mode, got, tc.succeed)
			}
			if got := srv.reached(); got != tc.succeed {
				t.Errorf("mode %s: the loopback server was reached=%t, want %t", tc.mode, got, tc.succeed)
			}
			if left := sleepersLeft(); (len(left) > 0) != tc.succeed {
				t.Errorf("mode %s: daemons left after the run: %v", tc.mode, left)
			}
			if strings.Contains(report+r.Stdout+r.Stderr, "PRIVATE KEY") {
				t.Errorf("a key's bytes reached the output")
			}
			// The provenance records the box that was applied, and what
			// a landlock box could not do.
			prov := strings.ReplaceAll(string(mustRead(t, filepath.Join(dir, "out", "provenance.json"))), " ", "")
			wants := []string{`"mechanism":"` + tc.mechanism + `"`}
			if tc.mechanism == "landlock" {
				wants = append(wants, `"network":"no-tcp"`, "cannothideafilethere")
			}
			for _, want := range wants {
				if !strings.Contains(prov, want) {
					t.Errorf("the provenance does not record %s:\n%s", want, prov)
				}
			}
		})
	}
}

// buildAttacker builds the attacker program into dst.
func buildAttacker(t *testing.T, dst string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", dst, "./testdata/attacker")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the attacker: %v\n%s", err, out)
	}
}

// loopback is a TCP server of the test that remembers whether anyone
// connected.
type loopback struct {
	addr string
	mu   sync.Mutex
	hit  bool
}

func listen(t *testing.T) *loopback {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	l := &loopback{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = bufio.NewReader(c).ReadString('\n')
			l.mu.Lock()
			l.hit = true
			l.mu.Unlock()
			c.Close()
		}
	}()
	return l
}

func (l *loopback) reached() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hit
}

// sleepersLeft are the daemons the hostile Makefile starts, if running.
func sleepersLeft() []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if s := string(b); s == "sleep\x003331\x00" || s == "sleep\x003332\x00" {
			out = append(out, e.Name())
		}
	}
	return out
}

func killSleepers(t *testing.T) {
	for _, pid := range sleepersLeft() {
		_ = exec.Command("kill", "-9", pid).Run()
	}
}

// Where the kernel refuses the box (here a seccomp filter refusing every
// new namespace, as an unprivileged container's default profile does),
// auto builds unboxed with one warning line and records why, and required
// fails before anything is built, with one line saying what is missing.
//
// Auto falls back to a landlock box first (the kernel of this machine has
// landlock), and runs unboxed only where landlock is refused as well
// (-no-landlock).
func TestBoxRefusedByKernel(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := lockedProject(t, in, "")
	wrapper := buildNoNamespaces(t)
	run := func(args ...string) testenv.Result { return wrappedRun(t, in, wrapper, dir, args...) }

	r := run("run", "--isolation", "required")
	if r.Code == 0 {
		t.Fatalf("mode required ran where the kernel refuses the box:\n%s", r.Stderr)
	}
	if line := errorLine(t, r); !strings.Contains(line, "isolation: mode required") || !strings.Contains(line, "namespace") {
		t.Errorf("the error does not say the box is required and what is missing: %s", line)
	}
	if exists(filepath.Join(dir, "builder-ran")) {
		t.Error("mode required ran the builder without its box")
	}

	for _, tc := range []struct {
		args      []string
		warning   string
		mechanism string
	}{
		{[]string{"run", "--force"}, "isolation: the build runs in a landlock box", "landlock"},
		{[]string{"-no-landlock", "run", "--force"}, "isolation: the build runs without a box", "none"},
	} {
		var r testenv.Result
		if tc.args[0] == "-no-landlock" {
			r = wrappedRun(t, in, wrapper+" -no-landlock", dir, tc.args[1:]...)
		} else {
			r = run(tc.args...)
		}
		if r.Code != 0 {
			t.Fatalf("auto failed where the kernel refuses the box:\n%s", r.Stderr)
		}
		warnings := 0
		for _, l := range strings.Split(r.Stderr, "\n") {
			if strings.Contains(l, "isolation: the build runs") {
				warnings++
				if !strings.Contains(l, tc.warning) {
					t.Errorf("the warning is not %q: %s", tc.warning, l)
				}
			}
		}
		if warnings != 1 {
			t.Errorf("%d warning lines about the box, want 1:\n%s", warnings, r.Stderr)
		}
		prov := strings.ReplaceAll(string(mustRead(t, filepath.Join(dir, "out", "provenance.json"))), " ", "")
		for _, want := range []string{`"mechanism":"` + tc.mechanism + `"`, `"mode":"auto"`, `"missing":"thekernelrefused`} {
			if !strings.Contains(prov, want) {
				t.Errorf("the provenance does not record %s", want)
			}
		}
	}
}

// buildNoNamespaces builds the seccomp wrapper that refuses namespaces.
func buildNoNamespaces(t *testing.T) string {
	t.Helper()
	wrapper := filepath.Join(t.TempDir(), "nonamespaces")
	cmd := exec.Command("go", "build", "-o", wrapper, "./testdata/nonamespaces")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the seccomp wrapper: %v\n%s", err, out)
	}
	return wrapper
}

// wrappedRun runs mmbuild with args in dir, under wrapper (a program and
// its flags, split on spaces) when it is not "".
func wrappedRun(t *testing.T, in *testenv.Install, wrapper, dir string, args ...string) testenv.Result {
	t.Helper()
	c := in.Command(t.Context(), dir, args...)
	if wrapper != "" {
		w := strings.Fields(wrapper)
		c.Args = append(w, c.Args...)
		c.Path = w[0]
	}
	var stdout, stderr strings.Builder
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	r := testenv.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// Replay rebuilds in the box the original ran in: a build run with
// --network none whose artifact lists the network interfaces it saw (only
// its own loopback) reproduces only if the replay, whose config says
// nothing of the network, also runs without one.
func TestReplayUnderRecordedIsolation(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := engineProject(t, map[string]string{
		".gitignore": "/dist/\n/out/\n/build.env\n/mmbuild.lock.hcl\n",
		"Makefile":   "all:\n\t@mkdir -p dist\n\tcut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' ' | sort > dist/interfaces.txt\n",
		"mmbuild.yaml": "handler: {id: make, params: [all]}\n" +
			"artifacts: {files: [\"dist/*\"]}\nprovenance: out/\n",
	})
	engineCommitAll(t, dir, "interfaces")
	engineMustRun(t, in, dir, "plugins", "lock")
	engineMustRun(t, in, dir, "run", "--network", "none")
	if got := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "dist", "interfaces.txt")))); got != "lo" {
		t.Fatalf("the build under --network none saw the interfaces %q, want lo alone", got)
	}
	r := in.Run(dir, "replay", "--allow-unsigned", filepath.Join(dir, "out", "provenance.json"))
	if r.Code != 0 {
		t.Fatalf("the replay did not reproduce a --network none build (exit %d):\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}

// Most CI runners build as an unprivileged user: the box holds there too
// (a user namespace of its own instead of root's powers). The test runs
// as root in CI, so it runs mmbuild as nobody through setpriv; run as
// another user, the tests above already are this test.
func TestBoxAsUnprivilegedUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("the suite runs unprivileged already: TestBoxHostileMakefile is this test")
	}
	const nobody = 65534
	in := testenv.NewInstall(t)
	for _, d := range []string{filepath.Dir(in.Prefix), in.Prefix} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.MkdirTemp("", "mmbuild-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	home, tmp, dir := filepath.Join(root, "home"), filepath.Join(root, "tmp"), filepath.Join(root, "proj")
	srv := listen(t)
	writeFiles(t, dir, map[string]string{
		"Makefile": `all:
	@mkdir -p dist
	@./attacker "$(HOME)/.ci-build.key" -- "$(HOME)/../outside.txt" "$(ADDR)" CORE-ONLY > dist/report.txt 2>&1
	@setsid sleep 3331 >/dev/null 2>&1 </dev/null &
	@id -u > dist/uid.txt
`,
		"mmbuild.yaml": `handler: {id: make, params: [all]}
env: [{var: ADDR, value: "` + srv.addr + `"}]
artifacts: {files: ["dist/*.txt"]}
provenance: out/
isolation: {mode: required, network: none}
`,
	})
	engineMustRun(t, in, root, "keys", "generate", "--out", filepath.Join(root, "ci"))
	writeFiles(t, home, map[string]string{".ci-build.key": string(mustRead(t, filepath.Join(root, "ci.key")))})
	buildAttacker(t, filepath.Join(dir, "attacker"))
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	}); err != nil {
		t.Fatal(err)
	}
	defer killSleepers(t)
	wrapper := buildNoNamespaces(t)
	if err := os.Chmod(wrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	under := ""
	asNobody := func(args ...string) {
		t.Helper()
		prog := []string{filepath.Join(in.BinDir, "mmbuild")}
		if under != "" {
			prog = append([]string{under}, prog...)
		}
		cmd := exec.Command("setpriv", append(append([]string{"--reuid=65534", "--regid=65534", "--clear-groups"}, prog...), args...)...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "TMPDIR=" + tmp, "LANG=C", "PWD=" + dir, "MMBUILD_TEST_CORE_ONLY=CORE-ONLY-x"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mmbuild %s as nobody: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	asNobody("plugins", "lock")
	asNobody("run", "--sign-key", filepath.Join(home, ".ci-build.key"))
	if uid := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "dist", "uid.txt")))); uid != "65534" {
		t.Errorf("the build ran as uid %s, want nobody's 65534", uid)
	}
	report := string(mustRead(t, filepath.Join(dir, "dist", "report.txt")))
	for _, a := range []string{"key0", "core-environ", "core-mem", "core-fd", "core-ptrace", "connect"} {
		if strings.Contains(report, a+": ok\n") {
			t.Errorf("as nobody, the attempt %s worked in the box:\n%s", a, report)
		}
	}
	if exists(filepath.Join(root, "outside.txt")) || srv.reached() || len(sleepersLeft()) > 0 {
		t.Errorf("as nobody, the box let the build write outside, reach the network or leave a daemon:\n%s", report)
	}

	// Where the kernel refuses namespaces, auto gives nobody's build a
	// landlock box: the same attempts fail.
	under = wrapper
	asNobody("run", "--force", "--isolation", "auto", "--sign-key", filepath.Join(home, ".ci-build.key"))
	under = ""
	report = string(mustRead(t, filepath.Join(dir, "dist", "report.txt")))
	for _, a := range []string{"key0", "core-environ", "core-mem", "core-fd", "core-ptrace", "connect"} {
		if strings.Contains(report, a+": ok\n") {
			t.Errorf("as nobody in a landlock box, the attempt %s worked:\n%s", a, report)
		}
	}
	if !strings.Contains(strings.ReplaceAll(string(mustRead(t, filepath.Join(dir, "out", "provenance.json"))), " ", ""), `"mechanism":"landlock"`) {
		t.Errorf("as nobody under the seccomp wrapper, the provenance does not record a landlock box")
	}
	if exists(filepath.Join(root, "outside.txt")) || srv.reached() || len(sleepersLeft()) > 0 {
		t.Errorf("as nobody, the landlock box let the build write outside, reach the network or leave a daemon:\n%s", report)
	}

	// Unboxed (where a machine refuses the box), the core is still out of
	// the build's reach: it is not dumpable, so a process of the same
	// user cannot read its environment, memory or descriptors, nor ptrace
	// it. (Files it can read: that is what the box is for.)
	asNobody("run", "--force", "--isolation", "off", "--sign-key", filepath.Join(home, ".ci-build.key"))
	report = string(mustRead(t, filepath.Join(dir, "dist", "report.txt")))
	if !strings.Contains(report, "key0: ok\n") {
		t.Fatalf("unboxed, the attacker did not run as expected:\n%s", report)
	}
	for _, a := range []string{"core-environ", "core-mem", "core-fd", "core-ptrace"} {
		if !strings.Contains(report, a+": denied") {
			t.Errorf("unboxed as nobody, the attempt %s on the core was not denied:\n%s", a, report)
		}
	}
}
