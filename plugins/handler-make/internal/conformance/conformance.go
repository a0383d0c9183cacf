// Package conformance holds the project and params the make handler runs
// the sdktest.Handler suite with, in-process and as the real binary.
package conformance

import (
	_ "embed" // the project's Makefile
	"os"
	"path/filepath"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

//go:embed sdktest.mk
var makefile []byte

// Cases are the suite's cases for the make handler, with handler id "make".
func Cases() sdktest.HandlerCases {
	return sdktest.HandlerCases{
		HandlerID: "make",
		Setup: func(t testing.TB, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "Makefile"), makefile, 0o644); err != nil {
				t.Fatal(err)
			}
		},
		Succeed:    []string{"ok"},
		Fail:       []string{"fail"},
		PrintEnv:   []string{"env"},
		BuilderEnv: []string{"MAKEFLAGS", "MFLAGS", "MAKELEVEL"},
		Sleep:      []string{"sleep"},
	}
}
