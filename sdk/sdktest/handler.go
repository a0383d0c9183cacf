package sdktest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/sdk/handler"
)

// Markers and variables shared by Handler and the projects its cases run.
const (
	// StdoutMarker is what the Succeed build writes to stdout.
	StdoutMarker = "sdktest-stdout"
	// StderrMarker is what the Succeed build writes to stderr.
	StderrMarker = "sdktest-stderr"
	// StartedMarker is what the Sleep build writes to stdout before it sleeps.
	StartedMarker = "sdktest-started"
	// PIDFileEnv names the variable, set in the Sleep build's Env, that holds
	// the path of the file the build writes its PIDs into.
	PIDFileEnv = "SDKTEST_PIDFILE"
	// LeakCanaryEnv is set in the test process while the env case runs; a
	// build that prints it has inherited the environment of its host.
	LeakCanaryEnv = "SDKTEST_LEAK_CANARY"
)

// HandlerCases describe a project and the params of a few builds of it, for
// Handler. Params are builder-specific, so the handler's author supplies
// them; every field is required (give an empty slice for "no params").
type HandlerCases struct {
	// HandlerID is the handler.id the requests carry.
	HandlerID string
	// Setup writes the project into dir, a fresh t.TempDir(); it is called
	// once per subtest.
	Setup func(t testing.TB, dir string)
	// Succeed are the params of a build that exits 0 after writing
	// StdoutMarker to stdout and StderrMarker to stderr (and neither marker
	// anywhere else: a builder that echoes its commands must not echo these).
	Succeed []string
	// Fail are the params of a build that exits non-zero.
	Fail []string
	// PrintEnv are the params of a build that prints its whole environment to
	// stdout, one KEY=VALUE a line, and nothing else.
	PrintEnv []string
	// BuilderEnv names the variables the builder itself adds to the
	// environment of the commands it runs (make: MAKEFLAGS, MFLAGS,
	// MAKELEVEL). PrintEnv may print them besides the build's Env.
	BuilderEnv []string
	// Sleep are the params of a build that writes StartedMarker to stdout,
	// starts a child process, writes the child's PID into the file named by
	// $SDKTEST_PIDFILE (PIDFileEnv), and runs for 30 s or more. The file may
	// list more PIDs of the build (the builder's own, a shell's),
	// whitespace-separated; every one must be gone once a cancelled Build
	// has returned.
	Sleep []string
}

// Time limits of Handler.
const (
	buildTimeout   = 2 * time.Minute  // any build of the suite
	startTimeout   = 20 * time.Second // Sleep writing its marker and PID file
	cancelDelay    = time.Second      // how long Sleep runs before it is cancelled
	cancelReturn   = 5 * time.Second  // Build returning after cancel
	processesGone  = 2 * time.Second  // the build's processes gone after Build returned
	pollInterval   = 20 * time.Millisecond
	returnAfterCtx = 10 * time.Second // Build returning after its ctx expired
)

// Handler runs the conformance suite of the handler contract
// (handler.Handler) against h, as subtests of t:
//
//   - success: Succeed exits 0 and each marker arrives on its own writer;
//   - failure: Fail is a non-zero ExitCode, not an error;
//   - env: the builder sees exactly the request's Env (plus BuilderEnv),
//     nothing of the host's environment, also when Env is empty;
//   - unknown-option: an option key the handler does not know is refused;
//   - missing-workdir: a WorkDir that does not exist is an error or a
//     non-zero exit, not a hang or a panic;
//   - cancel: Sleep's StartedMarker arrives while it runs (output is
//     streamed); cancelling ctx 1 s in makes Build return within 5 s with an
//     error or a non-zero exit, and every process listed in the PID file is
//     gone 2 s later.
//
// h is either the implementation itself, the same through the wire
// (Serve(t, ...).Handler()), or a real binary (Start(t,
// path).Handler()). Handler sets an environment variable in the test
// process, so it must not run under t.Parallel.
func Handler(t *testing.T, h handler.Handler, c HandlerCases) {
	t.Helper()
	c.check(t)
	t.Run("success", func(t *testing.T) { handlerSuccess(t, h, &c) })
	t.Run("failure", func(t *testing.T) { handlerFailure(t, h, &c) })
	t.Run("env", func(t *testing.T) { handlerEnv(t, h, &c) })
	t.Run("env-empty", func(t *testing.T) { handlerEnvEmpty(t, h, &c) })
	t.Run("unknown-option", func(t *testing.T) { handlerUnknownOption(t, h, &c) })
	t.Run("missing-workdir", func(t *testing.T) { handlerMissingWorkDir(t, h, &c) })
	t.Run("cancel", func(t *testing.T) { handlerCancel(t, h, &c) })
}

func (c *HandlerCases) check(t *testing.T) {
	t.Helper()
	var missing []string
	if c.HandlerID == "" {
		missing = append(missing, "HandlerID")
	}
	if c.Setup == nil {
		missing = append(missing, "Setup")
	}
	for name, params := range map[string][]string{"Succeed": c.Succeed, "Fail": c.Fail, "PrintEnv": c.PrintEnv, "Sleep": c.Sleep} {
		if params == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Fatalf("sdktest.HandlerCases: %s not set (give an empty slice for no params)", strings.Join(missing, ", "))
	}
}

// buffer is an io.Writer safe for concurrent use: a handler may write
// stdout and stderr from different goroutines, and the suite reads while the
// build runs.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// run is one Build of the suite and what it wrote.
type run struct {
	req            *handler.BuildRequest
	stdout, stderr *buffer
}

// newRun prepares a build of params in a fresh project.
func (c *HandlerCases) newRun(t *testing.T, params []string, env []string) *run {
	t.Helper()
	dir := t.TempDir()
	c.Setup(t, dir)
	r := &run{stdout: &buffer{}, stderr: &buffer{}}
	r.req = &handler.BuildRequest{
		HandlerID: c.HandlerID,
		WorkDir:   dir,
		Params:    slices.Clone(params),
		Env:       env,
		Stdout:    r.stdout,
		Stderr:    r.stderr,
	}
	return r
}

// output is what the build wrote, for failure messages.
func (r *run) output() string {
	return fmt.Sprintf("params %q\n--- stdout:\n%s--- stderr:\n%s", r.req.Params, r.stdout, r.stderr)
}

type buildResult struct {
	resp *handler.BuildResponse
	err  error
}

// start runs Build in the background.
func (r *run) start(ctx context.Context, h handler.Handler) <-chan buildResult {
	done := make(chan buildResult, 1)
	go func() {
		resp, err := h.Build(ctx, r.req)
		done <- buildResult{resp, err}
	}()
	return done
}

// build runs Build to completion, failing the test if it hangs.
func (r *run) build(t *testing.T, h handler.Handler) (*handler.BuildResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	select {
	case res := <-r.start(ctx, h):
		if res.err == nil && res.resp == nil {
			t.Fatalf("Build returned neither a response nor an error\n%s", r.output())
		}
		return res.resp, res.err
	case <-time.After(buildTimeout + returnAfterCtx):
		t.Fatalf("Build did not return within %v, nor %v after its context expired\n%s", buildTimeout, returnAfterCtx, r.output())
		return nil, nil
	}
}

// baseEnv is the smallest environment a builder can run in.
func baseEnv() []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return []string{"PATH=" + path}
}

func handlerSuccess(t *testing.T, h handler.Handler, c *HandlerCases) {
	r := c.newRun(t, c.Succeed, baseEnv())
	resp, err := r.build(t, h)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, r.output())
	}
	if resp.ExitCode != 0 {
		t.Fatalf("ExitCode = %d, want 0\n%s", resp.ExitCode, r.output())
	}
	stdout, stderr := r.stdout.String(), r.stderr.String()
	if !strings.Contains(stdout, StdoutMarker) {
		t.Errorf("stdout lacks %q\n%s", StdoutMarker, r.output())
	}
	if !strings.Contains(stderr, StderrMarker) {
		t.Errorf("stderr lacks %q\n%s", StderrMarker, r.output())
	}
	if strings.Contains(stdout, StderrMarker) {
		t.Errorf("stdout holds %q, written to stderr\n%s", StderrMarker, r.output())
	}
	if strings.Contains(stderr, StdoutMarker) {
		t.Errorf("stderr holds %q, written to stdout\n%s", StdoutMarker, r.output())
	}
}

func handlerFailure(t *testing.T, h handler.Handler, c *HandlerCases) {
	r := c.newRun(t, c.Fail, baseEnv())
	resp, err := r.build(t, h)
	if err != nil {
		t.Fatalf("Build: %v; a builder that ran and failed is a non-zero ExitCode, not an error\n%s", err, r.output())
	}
	if resp.ExitCode == 0 {
		t.Fatalf("ExitCode = 0, want non-zero\n%s", r.output())
	}
}

func handlerEnv(t *testing.T, h handler.Handler, c *HandlerCases) {
	t.Setenv(LeakCanaryEnv, "leaked")
	env := append(baseEnv(),
		"SDKTEST_A=1",
		"SDKTEST_SPACES=a b  c",
		"SDKTEST_EQUALS=x=y",
		"SDKTEST_EMPTY=",
	)
	r := c.newRun(t, c.PrintEnv, env)
	resp, err := r.build(t, h)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, r.output())
	}
	if resp.ExitCode != 0 {
		t.Fatalf("ExitCode = %d, want 0\n%s", resp.ExitCode, r.output())
	}
	c.checkEnv(t, r, env)
}

// handlerEnvEmpty runs PrintEnv with an empty Env. A handler may refuse it
// (make needs PATH to be found); if the build runs, it must see nothing.
func handlerEnvEmpty(t *testing.T, h handler.Handler, c *HandlerCases) {
	r := c.newRun(t, c.PrintEnv, []string{})
	resp, err := r.build(t, h)
	if err != nil || resp.ExitCode != 0 {
		t.Logf("refused or failed, as it may: %s", describe(buildResult{resp, err}))
		return
	}
	c.checkEnv(t, r, nil)
}

// checkEnv compares what PrintEnv printed with want. It names unexpected
// variables without their values: they come from a real environment and may
// be secrets.
func (c *HandlerCases) checkEnv(t *testing.T, r *run, want []string) {
	t.Helper()
	wantVars := map[string]string{}
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		wantVars[k] = v
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(r.stdout.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			t.Fatalf("PrintEnv printed %q, not KEY=VALUE\n%s", line, r.output())
		}
		if _, dup := got[k]; dup {
			t.Errorf("PrintEnv printed %s twice", k)
		}
		got[k] = v
	}
	var leaked, missing, wrong []string
	for k := range got {
		if _, ok := wantVars[k]; !ok && !slices.Contains(c.BuilderEnv, k) {
			leaked = append(leaked, k)
		}
	}
	for k, v := range wantVars {
		switch g, ok := got[k]; {
		case !ok:
			missing = append(missing, k)
		case g != v:
			wrong = append(wrong, fmt.Sprintf("%s=%q (want %q)", k, g, v))
		}
	}
	sort.Strings(leaked)
	sort.Strings(missing)
	sort.Strings(wrong)
	if _, ok := got[LeakCanaryEnv]; ok {
		t.Errorf("the builder inherited %s, set in the test process: Env must be the whole environment", LeakCanaryEnv)
	}
	if len(leaked) > 0 {
		t.Errorf("the builder saw variables not in Env (nor in BuilderEnv): %s", strings.Join(leaked, ", "))
	}
	if len(missing) > 0 {
		t.Errorf("the builder did not see: %s", strings.Join(missing, ", "))
	}
	if len(wrong) > 0 {
		t.Errorf("the builder saw changed values: %s", strings.Join(wrong, ", "))
	}
}

func handlerUnknownOption(t *testing.T, h handler.Handler, c *HandlerCases) {
	r := c.newRun(t, c.Succeed, baseEnv())
	r.req.Options = map[string]string{"sdktest-unknown-option": "1"}
	resp, err := r.build(t, h)
	if err == nil {
		t.Fatalf("Build with an unknown option key: exit %d, want an error refusing the option\n%s", resp.ExitCode, r.output())
	}
	t.Logf("refused: %v", err)
	if strings.Contains(r.stdout.String(), StdoutMarker) {
		t.Errorf("the build ran although its option was refused\n%s", r.output())
	}
}

func handlerMissingWorkDir(t *testing.T, h handler.Handler, c *HandlerCases) {
	r := &run{stdout: &buffer{}, stderr: &buffer{}}
	r.req = &handler.BuildRequest{
		HandlerID: c.HandlerID,
		WorkDir:   filepath.Join(t.TempDir(), "missing"),
		Params:    slices.Clone(c.Succeed),
		Env:       baseEnv(),
		Stdout:    r.stdout,
		Stderr:    r.stderr,
	}
	resp, err := r.build(t, h)
	if err == nil && resp.ExitCode == 0 {
		t.Fatalf("Build in a missing work dir succeeded\n%s", r.output())
	}
	t.Logf("%s", describe(buildResult{resp, err}))
}

func handlerCancel(t *testing.T, h handler.Handler, c *HandlerCases) {
	pidFile := filepath.Join(t.TempDir(), "pids")
	r := c.newRun(t, c.Sleep, append(baseEnv(), PIDFileEnv+"="+pidFile))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	begin := time.Now()
	done := r.start(ctx, h)

	// Wait until the build said it started and wrote its PIDs: the marker
	// arriving while the build runs shows its output is streamed.
	var pids []int
	for deadline := time.Now().Add(startTimeout); ; {
		select {
		case res := <-done:
			t.Fatalf("the Sleep build returned before it was cancelled: %s\n%s", describe(res), r.output())
		case <-time.After(pollInterval):
		}
		pids, _ = readPIDs(pidFile)
		started := strings.Contains(r.stdout.String(), StartedMarker)
		if len(pids) > 0 && started {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: stdout has %s: %v; PIDs in $%s: %v (want %q on stdout and a PID file, while the build runs)\n%s",
				startTimeout, StartedMarker, started, PIDFileEnv, pids, StartedMarker, r.output())
		}
	}
	t.Cleanup(func() { killLeftovers(pidFile) })
	if wait := cancelDelay - time.Since(begin); wait > 0 {
		time.Sleep(wait)
	}
	var names []string
	for _, pid := range pids {
		if ProcessGone(pid) {
			t.Fatalf("PID %d from $%s is not running before the build was cancelled\n%s", pid, PIDFileEnv, r.output())
		}
		names = append(names, fmt.Sprintf("%d (%s)", pid, processName(pid)))
	}
	t.Logf("cancelling; the build runs %s", strings.Join(names, ", "))

	cancel()
	cancelled := time.Now()
	select {
	case res := <-done:
		if res.err == nil && (res.resp == nil || res.resp.ExitCode == 0) {
			t.Errorf("a cancelled build returned %s, want an error or a non-zero exit\n%s", describe(res), r.output())
		}
		t.Logf("returned %v after cancel: %s", time.Since(cancelled).Round(time.Millisecond), describe(res))
	case <-time.After(cancelReturn):
		t.Fatalf("Build did not return within %v of its context being cancelled\n%s", cancelReturn, r.output())
	}

	// Read the file again: the build may have listed more PIDs since.
	if more, err := readPIDs(pidFile); err == nil && len(more) > 0 {
		pids = more
	}
	var left []int
	for deadline := time.Now().Add(processesGone); ; {
		left = left[:0]
		for _, pid := range pids {
			if !ProcessGone(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(pollInterval)
	}
	for _, pid := range left {
		t.Errorf("process %d (%s) of the cancelled build still exists %v after Build returned", pid, processName(pid), processesGone)
	}
}

func describe(res buildResult) string {
	if res.err != nil {
		return "error: " + res.err.Error()
	}
	if res.resp == nil {
		return "no response and no error"
	}
	return fmt.Sprintf("exit code %d", res.resp.ExitCode)
}
