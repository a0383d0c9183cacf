package sdktest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
)

var builds struct {
	mu   sync.Mutex
	dir  string
	done map[string]*builtBinary
}

type builtBinary struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the plugin's main package in the current directory (`go
// build .`, as a test of package main runs there), once per test process
// for each name and set of linker flags, and returns the binary's path,
// named mmbuild-plugin-<name> as discovery expects. ldflags are passed to
// the linker, e.g. "-X main.version=1.2.3". A test calling Build is skipped
// with -short. Call RemoveBuilds from TestMain to delete the binaries.
func Build(t testing.TB, name string, ldflags ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the plugin binary; skipped with -short")
	}
	key := name + "\x00" + strings.Join(ldflags, " ")
	builds.mu.Lock()
	if builds.done == nil {
		builds.done = map[string]*builtBinary{}
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "mmbuild-sdktest-build-")
		if err != nil {
			builds.mu.Unlock()
			t.Fatalf("sdktest.Build: %v", err)
		}
		builds.dir = dir
	}
	b, ok := builds.done[key]
	if !ok {
		b = &builtBinary{}
		builds.done[key] = b
	}
	dir := filepath.Join(builds.dir, fmt.Sprint(len(builds.done)))
	builds.mu.Unlock()

	b.once.Do(func() {
		if b.err = os.MkdirAll(dir, 0o755); b.err != nil {
			return
		}
		b.path = filepath.Join(dir, plugin.BinaryPrefix+name)
		args := []string{"build", "-trimpath"}
		if len(ldflags) > 0 {
			args = append(args, "-ldflags", strings.Join(ldflags, " "))
		}
		out, err := exec.Command("go", append(args, "-o", b.path, ".")...).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatalf("sdktest.Build %s: %v", name, b.err)
	}
	return b.path
}

// RemoveBuilds deletes every binary Build made. Call it from TestMain after
// m.Run.
func RemoveBuilds() {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir != "" {
		_ = os.RemoveAll(builds.dir)
		builds.dir, builds.done = "", nil
	}
}
