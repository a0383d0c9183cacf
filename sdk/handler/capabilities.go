package handler

// Capabilities a handler announces (plugin.Capabler). Use these constants
// rather than the strings, which the core compares them with.
const (
	// CapabilityProcessGroup: the builder runs in its own process group,
	// and nothing of that group outlives Build, cancelled or not. Without
	// it the core warns that stopping a build may leave processes running.
	CapabilityProcessGroup = "handler:process-group"
	// CapabilityStreamOutput: output reaches the request's writers while
	// the builder runs, not at the end.
	CapabilityStreamOutput = "handler:stream-output"
)
