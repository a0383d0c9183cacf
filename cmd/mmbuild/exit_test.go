package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/run"
)

// The exit status of a command line, decided by the error's type, through
// the same path main takes.
func TestExitCodes(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	missing := filepath.Join(t.TempDir(), "mmbuild.yaml")
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		args     []string
		fails    error // returned by a "fails" command added for the test
		want     int
		inStderr string
	}{
		{name: "ok", args: []string{"version"}, want: exitOK},
		{name: "no command prints help", args: nil, want: exitOK},
		{name: "help", args: []string{"help", "run"}, want: exitOK},
		{name: "unknown flag", args: []string{"run", "--no-such-flag"}, want: exitUsage, inStderr: "unknown flag: --no-such-flag"},
		{name: "bad flag value", args: []string{"replay", "--threshold", "x", "a"}, want: exitUsage, inStderr: "invalid argument"},
		{name: "unknown command", args: []string{"frobnicate"}, want: exitUsage, inStderr: `unknown command "frobnicate" for "mmbuild"`},
		{name: "unknown command, suggestion", args: []string{"rn"}, want: exitUsage, inStderr: "did you mean run?"},
		{name: "too many args", args: []string{"run", "extra"}, want: exitUsage, inStderr: `unknown command "extra" for "mmbuild run"`},
		{name: "too few args", args: []string{"replay"}, want: exitUsage, inStderr: "accepts 1 arg(s), received 0"},
		{name: "too few args, nested", args: []string{"pipeline", "run"}, want: exitUsage},
		{name: "minimum args", args: []string{"verify"}, want: exitUsage, inStderr: "give the artifacts to check, or their digests with --digest"},
		{name: "usage error from a command", args: []string{"verify", "a.tar.gz"}, want: exitUsage, inStderr: "--attestation FILE is required"},
		{name: "plain error", args: []string{"validate", "-f", missing}, want: exitError, inStderr: missing},
		{name: "plain error, injected", fails: errors.New("boom"), want: exitError, inStderr: "mmbuild: boom\n"},
		{name: "build failed", fails: fmt.Errorf("building: %w", &run.BuildFailedError{ExitCode: 2}), want: exitBuildFailed, inStderr: "exited with status 2"},
		{name: "not reproducible", fails: fmt.Errorf("replaying: %w", &notReproducibleError{differing: []string{"a"}}), want: exitNotReproducible},
		{name: "interrupted", ctx: canceled, fails: context.Canceled, want: exitInterrupted},
		{name: "interrupted wins", ctx: canceled, fails: usageError{errors.New("x")}, want: exitInterrupted},
		{name: "an error while interrupted", ctx: canceled, args: []string{"validate", "-f", missing}, want: exitInterrupted},
		{name: "usage error, wrapped", fails: fmt.Errorf("a: %w", usageError{errors.New("b")}), want: exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			var stdout, stderr bytes.Buffer
			var code int
			if tc.fails == nil {
				code = execute(ctx, tc.args, &stdout, &stderr)
			} else {
				root := newRootCmd(&globalOptions{stdout: &stdout, stderr: &stderr})
				root.AddCommand(&cobra.Command{Use: "fails", RunE: func(*cobra.Command, []string) error { return tc.fails }})
				code = executeCommand(ctx, root, []string{"fails"})
			}
			if code != tc.want || !strings.Contains(stderr.String(), tc.inStderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want it to hold %q", code, tc.want, stderr.String(), tc.inStderr)
			}
			if code != exitOK && (!strings.HasPrefix(stderr.String(), "mmbuild: ") || strings.Count(stderr.String(), "\n") != 1) {
				t.Errorf("stderr is not one mmbuild: line: %q", stderr.String())
			}
		})
	}
}

func TestExitCodeNil(t *testing.T) {
	if c := exitCode(context.Background(), nil); c != exitOK {
		t.Fatalf("exitCode(nil) = %d", c)
	}
	if usage(nil) != nil {
		t.Fatal("usage(nil) is not nil")
	}
}
