package plugin

import (
	"os"
	"runtime/debug"
)

// ShortLivedGC sets the garbage collector for a process that lives for one
// build: the core and every plugin it starts. Such a process allocates a
// few megabytes and exits; at Go's default (GOGC=100) it still spends
// several collections on a heap that is about to be thrown away, and each
// one is CPU the build competes for. A goal of five times the live heap
// leaves small runs without a collection while a long transfer, whose
// buffers are reused, stays a small heap. A GOGC set in the environment
// wins. Serve calls it; the core's main does too.
func ShortLivedGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(shortLivedGCPercent)
	}
}

const shortLivedGCPercent = 400
