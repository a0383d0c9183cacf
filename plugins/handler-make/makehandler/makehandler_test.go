//go:build unix

package makehandler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"

	"github.com/mmbuild/mmbuild/plugins/handler-make/internal/conformance"
)

func TestConformance(t *testing.T) {
	sdktest.Handler(t, New(), conformance.Cases())
}

func TestConformanceOverWire(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("make"), plugin.WithHandler("make", New()))
	sdktest.Handler(t, conn.Handler(), conformance.Cases())
}

// buffer is a writer the test may read while make writes to it.
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

// project writes files (name → content) into a fresh work dir and returns a
// request for it with PATH as its only variable.
func project(t *testing.T, files map[string]string, params ...string) (*handler.BuildRequest, *buffer, *buffer) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr := &buffer{}, &buffer{}
	return &handler.BuildRequest{
		HandlerID: "make",
		WorkDir:   dir,
		Params:    params,
		Env:       []string{"PATH=" + os.Getenv("PATH")},
		Stdout:    stdout,
		Stderr:    stderr,
	}, stdout, stderr
}

func build(t *testing.T, h *Handler, req *handler.BuildRequest) (*handler.BuildResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return h.Build(ctx, req)
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		name, recipe string
		want         int
	}{
		{"success", "@true", 0},
		{"recipe fails", "@exit 7", 2}, // make reports a failed recipe as 2
		{"make killed", "@kill -9 $$PPID; sleep 5", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, stdout, stderr := project(t, map[string]string{"Makefile": "all:\n\t" + tc.recipe + "\n"})
			resp, err := build(t, New(), req)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if resp.ExitCode != tc.want {
				t.Fatalf("ExitCode = %d, want %d\nstdout: %s\nstderr: %s", resp.ExitCode, tc.want, stdout, stderr)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	const mk = "all:\n\t@echo flags=$(MAKEFLAGS) file=$(firstword $(MAKEFILE_LIST))\n"
	for _, tc := range []struct {
		name    string
		options map[string]string
		want    string // in stdout, or in the error
		fails   bool
	}{
		{name: "none", want: "file=Makefile"},
		{name: "file", options: map[string]string{"file": "sub/other.mk"}, want: "file=sub/other.mk"},
		{name: "jobs", options: map[string]string{"jobs": "3"}, want: "j3"},
		{name: "unknown key", options: map[string]string{"jobs": "2", "target": "x", "env": "y"}, fails: true,
			want: `make handler: unknown option "env", "target" (known: file, jobs)`},
		{name: "jobs zero", options: map[string]string{"jobs": "0"}, fails: true, want: `option jobs: "0" is not a positive whole number`},
		{name: "jobs word", options: map[string]string{"jobs": "many"}, fails: true, want: `option jobs: "many"`},
		{name: "file absolute", options: map[string]string{"file": "/etc/passwd"}, fails: true, want: "not a relative path inside the work tree"},
		{name: "file escapes", options: map[string]string{"file": "../x.mk"}, fails: true, want: "not a relative path inside the work tree"},
		{name: "file empty", options: map[string]string{"file": ""}, fails: true, want: "not a relative path inside the work tree"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, stdout, stderr := project(t, map[string]string{"Makefile": mk})
			if err := os.Mkdir(filepath.Join(req.WorkDir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(req.WorkDir, "sub", "other.mk"), []byte(mk), 0o644); err != nil {
				t.Fatal(err)
			}
			req.Options = tc.options
			resp, err := build(t, New(), req)
			if tc.fails {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Build error = %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil || resp.ExitCode != 0 {
				t.Fatalf("Build: %v %v\nstderr: %s", resp, err, stderr)
			}
			if !strings.Contains(stdout.String(), tc.want) {
				t.Fatalf("stdout %q lacks %q", stdout, tc.want)
			}
		})
	}
}

func TestParamsAreMakeArguments(t *testing.T) {
	mk := "all:\n\t@echo built $(WHO)\n"
	t.Run("variable and target", func(t *testing.T) {
		req, stdout, _ := project(t, map[string]string{"Makefile": mk}, "WHO=me and you", "all")
		if resp, err := build(t, New(), req); err != nil || resp.ExitCode != 0 {
			t.Fatalf("Build: %v %v", resp, err)
		}
		if got := stdout.String(); got != "built me and you\n" {
			t.Fatalf("stdout = %q", got)
		}
	})
	// No shell sits between the plugin and make: these are target names.
	for _, p := range []string{"; echo pwned", "`echo pwned`", "$(echo pwned)", "all && echo pwned"} {
		t.Run(p, func(t *testing.T) {
			req, stdout, stderr := project(t, map[string]string{"Makefile": mk}, p)
			resp, err := build(t, New(), req)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if resp.ExitCode == 0 || strings.Contains(stdout.String(), "pwned") {
				t.Fatalf("exit %d, stdout %q, stderr %q: want make to refuse an unknown target", resp.ExitCode, stdout, stderr)
			}
			if !strings.Contains(stderr.String(), "No rule to make target '"+p+"'") {
				t.Fatalf("stderr %q does not name the target %q", stderr, p)
			}
		})
	}
}

// TestMakeFromBuildPath: make comes from the build's PATH, not the plugin's.
func TestMakeFromBuildPath(t *testing.T) {
	bin := t.TempDir()
	fake := "#!/bin/sh\necho fake make \"$@\" in \"$(pwd)\"\n"
	if err := os.WriteFile(filepath.Join(bin, "make"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "/nonexistent")
	req, stdout, _ := project(t, nil, "a", "b c")
	req.Env = []string{"PATH=/bin:" + bin, "PATH=" + bin} // the last one wins
	resp, err := build(t, New(), req)
	if err != nil || resp.ExitCode != 0 {
		t.Fatalf("Build: %v %v", resp, err)
	}
	if want := "fake make a b c in " + req.WorkDir + "\n"; stdout.String() != want {
		t.Fatalf("stdout = %q, want %q", stdout, want)
	}
}

func TestMakeNotFound(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"not there", []string{"PATH=/nonexistent:/also/not"}, "make not found in PATH=/nonexistent:/also/not"},
		{"no PATH", []string{"HOME=/root"}, "make not found in PATH= (PATH is not set in the build environment)"},
		{"empty env", []string{}, "make not found in PATH= (PATH is not set"},
		{"relative only", []string{"PATH=.::bin"}, "make not found in PATH=.::bin (relative entries are ignored)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A make in the work tree, reachable by the relative entries.
			req, _, _ := project(t, map[string]string{"make": "#!/bin/sh\necho planted\n"})
			if err := os.Mkdir(filepath.Join(req.WorkDir, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			req.Env = tc.env
			_, err := build(t, New(), req)
			if err == nil || err.Error() != tc.want && !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Build error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestWorkDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{
		{"", "work dir not set"},
		{"relative/dir", `work dir "relative/dir" is not an absolute path`},
		{filepath.Join(t.TempDir(), "missing"), "no such file or directory"},
		{file, "is not a directory"},
	} {
		req, _, _ := project(t, nil)
		req.WorkDir = tc.dir
		_, err := build(t, New(), req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WorkDir %q: error = %v, want %q", tc.dir, err, tc.want)
		}
	}
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// TestStreamsLive: the first line arrives while make still runs (it waits
// for the test to see it).
func TestStreamsLive(t *testing.T) {
	mk := "all:\n\t@echo first; echo first-err >&2; while [ ! -f go ]; do sleep 0.02; done; echo second\n"
	req, stdout, stderr := project(t, map[string]string{"Makefile": mk})
	done := make(chan error, 1)
	go func() { _, err := build(t, New(), req); done <- err }()
	waitFor(t, 10*time.Second, "first lines", func() bool {
		return stdout.String() == "first\n" && stderr.String() == "first-err\n"
	})
	if err := os.WriteFile(filepath.Join(req.WorkDir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "first\nsecond\n" {
		t.Fatalf("stdout = %q", stdout)
	}
}

func readPIDs(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("pid file %s: %q", path, b)
		}
		pids = append(pids, pid)
	}
	return pids
}

func requireGone(t *testing.T, pids []int) {
	t.Helper()
	waitFor(t, 2*time.Second, "processes "+strconvInts(pids)+" to end", func() bool {
		for _, pid := range pids {
			if !sdktest.ProcessGone(pid) {
				return false
			}
		}
		return true
	})
}

// killAll kills what a test started and may have left behind.
func killAll(pids []int) {
	for _, pid := range pids {
		if !sdktest.ProcessGone(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func strconvInts(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, " ")
}

// cancelAfterStart runs mk's default goal, waits until it wrote its PID
// file, cancels, and returns Build's error, how long Build took after cancel
// and the PIDs.
func cancelAfterStart(t *testing.T, h *Handler, mk string) (error, time.Duration, []int) {
	t.Helper()
	req, _, stderr := project(t, map[string]string{"Makefile": mk})
	pidFile := filepath.Join(t.TempDir(), "pids")
	req.Env = append(req.Env, "PIDFILE="+pidFile)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := h.Build(ctx, req); done <- err }()
	waitFor(t, 10*time.Second, "the pid file", func() bool {
		b, _ := os.ReadFile(pidFile)
		return bytes.HasSuffix(b, []byte("\n"))
	})
	pids := readPIDs(t, pidFile)
	t.Cleanup(func() { killAll(pids) }) // if the test fails
	time.Sleep(100 * time.Millisecond)  // let the shell reach wait
	cancel()
	start := time.Now()
	select {
	case err := <-done:
		return err, time.Since(start), pids
	case <-time.After(10 * time.Second):
		t.Fatalf("Build did not return after cancel; stderr: %s", stderr)
		return nil, 0, nil
	}
}

func TestCancel(t *testing.T) {
	mk := "all:\n\t@sleep 60 & echo $$! $$$$ $$PPID > $$PIDFILE; wait\n"
	err, took, pids := cancelAfterStart(t, New(), mk)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build error = %v, want context.Canceled", err)
	}
	if took > time.Second {
		t.Errorf("Build took %v after cancel; SIGTERM should do", took)
	}
	requireGone(t, pids)
}

// TestCancelIgnoringTERM: a build that ignores SIGTERM is killed after the
// grace period.
func TestCancelIgnoringTERM(t *testing.T) {
	h := New()
	h.killGrace = 300 * time.Millisecond
	mk := "all:\n\t@trap '' TERM; sleep 60 & echo $$! $$$$ $$PPID > $$PIDFILE; wait; wait; wait\n"
	err, took, pids := cancelAfterStart(t, h, mk)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build error = %v, want context.Canceled", err)
	}
	if took < h.killGrace || took > h.killGrace+2*time.Second {
		t.Errorf("Build took %v after cancel, want the grace period %v and a little", took, h.killGrace)
	}
	requireGone(t, pids)
}

func TestCancelledBeforeStart(t *testing.T) {
	req, _, _ := project(t, map[string]string{"Makefile": "all:\n\t@echo ran > ran\n"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New().Build(ctx, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("Build error = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(req.WorkDir, "ran")); err == nil {
		t.Fatal("make ran")
	}
}

// TestLeftoversKilled: what make leaves in its group when it exits is killed,
// and does not hold Build up by keeping stdout open.
func TestLeftoversKilled(t *testing.T) {
	req, _, _ := project(t, map[string]string{"Makefile": "all:\n\t@sleep 60 & echo $$! > pid\n"})
	start := time.Now()
	resp, err := build(t, New(), req)
	if err != nil || resp.ExitCode != 0 {
		t.Fatalf("Build: %v %v", resp, err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Build took %v", took)
	}
	requireGone(t, readPIDs(t, filepath.Join(req.WorkDir, "pid")))
}

// TestOutputHeldOutsideGroup: a process that left make's group and keeps
// stdout open delays Build by drainGrace at most, and is named on stderr.
func TestOutputHeldOutsideGroup(t *testing.T) {
	h := New()
	h.drainGrace = 200 * time.Millisecond
	req, stdout, stderr := project(t, map[string]string{"Makefile": "all:\n\t@echo before; setsid sh -c 'echo $$$$ > pid; exec sleep 10' & while [ ! -s pid ]; do sleep 0.01; done\n"})
	start := time.Now()
	resp, err := build(t, h, req)
	pids := readPIDs(t, filepath.Join(req.WorkDir, "pid"))
	t.Cleanup(func() { killAll(pids) })
	if err != nil || resp.ExitCode != 0 {
		t.Fatalf("Build: %v %v", resp, err)
	}
	if took := time.Since(start); took > h.drainGrace+time.Second {
		t.Errorf("Build took %v", took)
	}
	if stdout.String() != "before\n" {
		t.Errorf("stdout = %q", stdout)
	}
	if !strings.Contains(stderr.String(), "a process that left make's process group still holds it") {
		t.Errorf("stderr = %q", stderr)
	}
}

// failingWriter fails every write, like a stream to a host that went away.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("host gone") }

// TestOutputWriteFails: make is not blocked by a writer that fails (it
// writes far more than a pipe holds) and the failure is reported.
func TestOutputWriteFails(t *testing.T) {
	req, _, _ := project(t, map[string]string{"Makefile": "all:\n\t@seq 1 200000\n"})
	req.Stdout = failingWriter{}
	_, err := build(t, New(), req)
	if err == nil || !strings.Contains(err.Error(), "streaming make output: host gone") {
		t.Fatalf("Build error = %v", err)
	}
}

func TestDescribe(t *testing.T) {
	h := New()
	if got := h.Capabilities(); len(got) != 2 || got[0] != "handler:process-group" || got[1] != "handler:stream-output" {
		t.Errorf("Capabilities = %q", got)
	}
	var s struct {
		Properties struct {
			Params  struct{ Type string }
			Options struct {
				AdditionalProperties bool
				Properties           map[string]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(h.ConfigSchema(), &s); err != nil {
		t.Fatalf("schema: %v", err)
	}
	if s.Properties.Params.Type != "array" || s.Properties.Options.AdditionalProperties || len(s.Properties.Options.Properties) != 2 {
		t.Errorf("schema = %+v", s)
	}
	for k := range s.Properties.Options.Properties {
		if _, err := optionArgs(map[string]string{k: "1"}); err != nil {
			t.Errorf("option %q in the schema is refused: %v", k, err)
		}
	}
}
