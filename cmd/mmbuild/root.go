package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mmbuild/mmbuild/core/build/progress"
	"github.com/mmbuild/mmbuild/core/build/redact"
)

type globalOptions struct {
	logLevel string
	// stdout and stderr pass every byte through red: log lines (the
	// plugins' relayed ones too), progress events, --json output, the
	// error line. The runs teach red their secret values.
	stdout io.Writer
	stderr io.Writer
	red    *redact.Redactor
	// rawStderr is stderr itself, for the live status line on a terminal
	// (whose URLs the run has redacted already).
	rawStderr io.Writer
}

func (g *globalOptions) logger() hclog.Logger {
	level := g.logLevel
	if level == "" {
		level = os.Getenv("MMBUILD_LOG_LEVEL")
	}
	if level == "" {
		level = "info"
	}
	return newQuiet(hclog.New(&hclog.LoggerOptions{
		Name:        "mmbuild",
		Level:       hclog.LevelFromString(level),
		Output:      g.stderr,
		DisableTime: true,
		Color:       g.color(),
	}))
}

// color is whether log lines are coloured: only on a terminal (stderr is
// wrapped by the redactor, so hclog cannot tell by itself).
func (g *globalOptions) color() hclog.ColorOption {
	if f, ok := g.rawStderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return hclog.ForceColor
	}
	return hclog.ColorOff
}

// progress picks how transfers are shown: JSON events on stderr with
// --json, a live status line when stderr is a terminal, nothing otherwise.
func (g *globalOptions) progress(asJSON bool) progress.Reporter {
	if asJSON {
		return progress.NewJSON(g.stderr)
	}
	if f, ok := g.rawStderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return progress.NewTerminal(f)
	}
	return progress.Nop{}
}

func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "mmbuild",
		Short: "Run builds whose every input and output is verified and attested",
		Long: `mmbuild sits between a CI engine and a builder (make first). It fetches the
build's materials through storage plugins and verifies their digests, runs the
builder with exactly the declared environment, hashes the artifacts, writes an
in-toto attestation with SLSA v0.2 provenance, and publishes everything with
the attestation last.

Builders and storage backends are plugins: executables named
mmbuild-plugin-<name>, pinned by sha256 in mmbuild.lock.hcl.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "log level: trace, debug, info, warn, error, off (default info, or $MMBUILD_LOG_LEVEL)")
	root.AddCommand(
		newRunCmd(g, "run"),
		newBuildCmd(g),
		newValidateCmd(g),
		newPipelineCmd(g),
		newReplayCmd(g),
		newPluginsCmd(g),
		newVersionCmd(g),
		newKeysCmd(g),
		newVerifyCmd(g),
		newAttestCmd(g),
		newGraphCmd(g),
		newInitCmd(g),
		newSummaryCmd(g),
	)
	usageErrors(root)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	return root
}

// execute runs the command line args and returns its exit status.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	red := redact.New()
	g := &globalOptions{stdout: red.Writer(stdout), stderr: red.Writer(stderr), red: red, rawStderr: stderr}
	defer red.Flush()
	return executeCommand(ctx, newRootCmd(g), args)
}

// executeCommand runs root with args, prints the error it ends with on
// root's stderr, on one line, and returns the exit status for it.
func executeCommand(ctx context.Context, root *cobra.Command, args []string) int {
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(root.ErrOrStderr(), "mmbuild: %s\n", oneLine(err.Error()))
	}
	return exitCode(ctx, err)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// quietPluginLifecycle drops go-plugin's own lifecycle messages ("plugin
// process exited" on every normal stop) and turns a crashing plugin's stack
// trace (relayed by go-plugin as one error per line) into its first line at
// error level and the rest at debug: the run's error already says which
// plugin crashed and why. Plugin logs and errors pass unchanged.
type quietPluginLifecycle struct {
	hclog.Logger
	inPanic *atomic.Bool
}

func newQuiet(l hclog.Logger) quietPluginLifecycle {
	return quietPluginLifecycle{Logger: l, inPanic: &atomic.Bool{}}
}

func (q quietPluginLifecycle) quiet(msg string) bool {
	return msg == "plugin process exited" || msg == "starting plugin" || msg == "plugin started" ||
		msg == "waiting for RPC address" || msg == "using plugin"
}

func (q quietPluginLifecycle) Log(level hclog.Level, msg string, args ...any) {
	if !q.quiet(msg) {
		q.Logger.Log(level, msg, args...)
	}
}
func (q quietPluginLifecycle) Info(msg string, args ...any) {
	if !q.quiet(msg) {
		q.Logger.Info(msg, args...)
	}
}
func (q quietPluginLifecycle) Error(msg string, args ...any) {
	switch {
	case q.quiet(msg):
	case len(args) == 0 && (strings.HasPrefix(msg, "panic:") || strings.HasPrefix(msg, "fatal error:")):
		q.inPanic.Store(true)
		q.Logger.Error("plugin crashed: "+msg+" (stack trace at --log-level debug)", args...)
	case len(args) == 0 && q.inPanic.Load():
		q.Logger.Debug(msg)
	default:
		q.Logger.Error(msg, args...)
	}
}
func (q quietPluginLifecycle) Debug(msg string, args ...any) {
	if !q.quiet(msg) {
		q.Logger.Debug(msg, args...)
	}
}
func (q quietPluginLifecycle) Named(name string) hclog.Logger {
	return newQuiet(q.Logger.Named(name))
}
func (q quietPluginLifecycle) With(args ...any) hclog.Logger {
	return quietPluginLifecycle{Logger: q.Logger.With(args...), inPanic: q.inPanic}
}
