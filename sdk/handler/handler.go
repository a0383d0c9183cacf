// Package handler defines what a handler plugin (a builder such as make)
// implements. It holds only interfaces and plain values: the wire format lives
// in the plugin package, so it can change without breaking plugin authors.
package handler

import (
	"context"
	"io"
)

// Handler runs one builder.
type Handler interface {
	// Build runs the builder in req.WorkDir with exactly req.Env as its
	// environment and streams its output to req.Stdout and req.Stderr while it
	// runs. A builder that ran and failed is a response with a non-zero
	// ExitCode, not an error; an error means the builder could not be run.
	// Cancelling ctx must stop the builder and everything it started.
	Build(ctx context.Context, req *BuildRequest) (*BuildResponse, error)
}

// BuildRequest is one build.
type BuildRequest struct {
	// HandlerID is the id the build config names (handler.id), so one binary
	// can serve several handlers.
	HandlerID string
	// WorkDir is the absolute path of the work tree.
	WorkDir string
	// Params are the handler's arguments from the build config.
	Params []string
	// Env is the complete environment of the builder, KEY=VALUE. Nothing else
	// is to be inherited.
	Env []string
	// Options are handler-specific settings; unknown keys should be refused.
	Options map[string]string
	// Stdout and Stderr receive the builder's output live. Never nil.
	Stdout io.Writer
	Stderr io.Writer
}

// BuildResponse is the outcome of a build that ran.
type BuildResponse struct {
	// ExitCode is the builder's exit status; -1 when it was killed by a signal.
	ExitCode int
}
