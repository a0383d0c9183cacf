//go:build race

package testenv

// raceEnabled: the tests run under the race detector, so the mmbuild binary
// they drive is built with it too — the core's concurrency (parallel
// fetches, plugin start, redaction) is then checked end to end.
const raceEnabled = true
