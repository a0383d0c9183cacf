package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/run"
)

// Exit codes. Each class of error is a type or a sentinel, found with
// errors.As, never by the error's text.
const (
	exitOK              = 0
	exitError           = 1 // bad input, a plugin or transfer failure, a check that failed
	exitUsage           = 2 // wrong flags or arguments (a usageError)
	exitBuildFailed     = 3 // the builder ran and failed (a *run.BuildFailedError)
	exitNotReproducible = 4 // replay: the rebuild differs (a *notReproducibleError)
	exitInterrupted     = 130
)

// exitCode is the exit status for err, the error the command line ended
// with in ctx.
func exitCode(ctx context.Context, err error) int {
	var (
		bf *run.BuildFailedError
		ue usageError
		nr *notReproducibleError
	)
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil:
		return exitInterrupted
	case errors.As(err, &nr):
		return exitNotReproducible
	case errors.As(err, &bf):
		return exitBuildFailed
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitError
}

// usageError marks a command line that is wrong: an unknown command or
// flag, the wrong number of arguments, a flag value that cannot be used.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usage marks err as a usage error; nil stays nil.
func usage(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// usageErrors makes every error cobra finds in the command line below root
// a usageError, where it arises: flag parsing, each command's Args
// validator, and an unknown command (root takes no arguments; with none it
// prints its help).
func usageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage(err) })
	root.Args = unknownCommand
	root.SuggestionsMinimumDistance = 2 // cobra's default
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Args != nil {
			args := c.Args
			c.Args = func(cmd *cobra.Command, a []string) error { return usage(args(cmd, a)) }
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, c := range root.Commands() {
		walk(c)
	}
}

// unknownCommand refuses any argument to the root command, with cobra's
// message and suggestions.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{errors.New(msg)}
}
