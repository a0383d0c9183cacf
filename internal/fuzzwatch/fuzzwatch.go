// Package fuzzwatch turns a hang under a fuzz target into a crash: Go's
// fuzzer knows no time limit per input, so a hang would only stall it,
// while a crash records the input under testdata/fuzz.
package fuzzwatch

import (
	"fmt"
	"time"
)

// HangAfter is how long one input may take: ample for a parser under the
// race detector on a busy machine, far below the time limit of a fuzzing
// run.
const HangAfter = 5 * time.Second

// Start crashes the test binary when what has not returned within
// HangAfter. Call the function it returns when what returns.
func Start(what string, input []byte) (stop func()) {
	timer := time.AfterFunc(HangAfter, func() {
		shown := input
		if len(shown) > 200 {
			shown = shown[:200]
		}
		panic(fmt.Sprintf("%s has run for more than %v on %d bytes: %q…", what, HangAfter, len(input), shown))
	})
	return func() { timer.Stop() }
}
