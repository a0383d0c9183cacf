package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// firstBuildPackages bounds the packages outside Go's standard library that
// `make demo` compiles before its first build: cmd/mmbuild and the local
// plugin (make handler, file store). On a new machine, with an empty Go
// cache, compiling them is nearly all of the wait for that build (cmd/mmbuild
// took 331 CPU-seconds of a 2-core machine; its four KMS providers' SDKs
// are a fifth of it). 897 when recorded, with room for the project's own
// packages; a dependency that adds more (a cloud SDK, a cataloguer) makes
// every new user wait: measure the demo again before raising it.
const firstBuildPackages = 930

func TestFirstBuildPackages(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".", "../../plugins/local")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as the Makefile builds them
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	pkgs := map[string]bool{}
	modules := map[string]int{}
	for _, p := range strings.Fields(string(out)) {
		if !pkgs[p] {
			pkgs[p] = true
			modules[modulePrefix(p)]++
		}
	}
	if len(pkgs) > firstBuildPackages {
		var largest []string
		for m := range modules {
			largest = append(largest, m)
		}
		sort.Slice(largest, func(i, j int) bool { return modules[largest[i]] > modules[largest[j]] })
		largest = largest[:min(10, len(largest))]
		for i, m := range largest {
			largest[i] = fmt.Sprintf("%s %d", m, modules[m])
		}
		t.Fatalf("cmd/mmbuild and plugins/local import %d packages outside the standard library, more than %d: make demo's first build on a new machine compiles them all (most: %s)",
			len(pkgs), firstBuildPackages, strings.Join(largest, ", "))
	}
	if len(pkgs) < 100 {
		t.Fatalf("go list -deps listed %d packages: not the binaries' imports", len(pkgs))
	}
}

// modulePrefix is the first three elements of an import path, a stand-in
// for its module in the failure message.
func modulePrefix(p string) string {
	parts := strings.SplitN(p, "/", 4)
	return strings.Join(parts[:min(3, len(parts))], "/")
}

// notLinked are packages cmd/mmbuild must not link, each with why: every
// linked package's init runs at the start of every mmbuild command, and a
// cache hit is little more than that start.
var notLinked = map[string]string{
	// A test library; hclwrite (lock file writing) linked it (its init:
	// ~1.3 ms of every run). The lock file is written by hand.
	"github.com/google/go-cmp/cmp": "a test library (hclwrite linked it)",
}

func TestNotLinked(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as the Makefile builds it
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list -deps listed %d packages: not the binary's imports", len(deps))
	}
	for _, p := range deps {
		if why, ok := notLinked[p]; ok {
			t.Errorf("cmd/mmbuild links %s: %s (find the importer with go mod why -m or go list -deps -json)", p, why)
		}
	}
}
