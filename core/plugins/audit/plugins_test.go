package audit

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Test binaries, built once per test run by testBinaries.
var (
	buildOnce sync.Once
	buildDir  string
	bins      struct{ sdk, fake string }
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// testBinaries builds testdata/sdkplugin (a real plugin using the SDK of
// this repository) and testdata/fakeplugin (a Go binary without the SDK),
// once, and returns their paths. Skipped under -short.
func testBinaries(t *testing.T) (sdk, fake string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds plugin binaries; skipped with -short")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "mmbuild-audit-test-")
		if buildErr != nil {
			return
		}
		var wg sync.WaitGroup
		var sdkErr, fakeErr error
		wg.Add(2)
		go func() { defer wg.Done(); bins.sdk, sdkErr = buildPlugin("sdkplugin", true) }()
		go func() { defer wg.Done(); bins.fake, fakeErr = buildPlugin("fakeplugin", false) }()
		wg.Wait()
		buildErr = firstErr(sdkErr, fakeErr)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bins.sdk, bins.fake
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// buildPlugin builds testdata/<name> as its own module, requiring this
// repository's SDK through a replace directive when useSDK is set.
func buildPlugin(name string, useSDK bool) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building test plugin %s: %w", name, err)
	}
	mod := filepath.Join(buildDir, name+"-src")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return "", err
	}
	src, err := os.ReadFile(filepath.Join("testdata", name, "main.go"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(mod, "main.go"), src, 0o644); err != nil {
		return "", err
	}
	gomod := "module example.com/" + name + "\n\ngo 1.26.0\n"
	if useSDK {
		sdkDir, err := filepath.Abs(filepath.Join("..", "..", "..", "sdk"))
		if err != nil {
			return "", err
		}
		if err := copyFile(filepath.Join(sdkDir, "go.sum"), filepath.Join(mod, "go.sum")); err != nil {
			return "", fmt.Errorf("building test plugin %s: %w", name, err)
		}
		gomod += "\nrequire github.com/mmbuild/mmbuild/sdk v0.0.0\n\nreplace github.com/mmbuild/mmbuild/sdk => " + sdkDir + "\n"
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(buildDir, name)
	cmd := exec.Command(goBin, "build", "-o", out, ".")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false", "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building test plugin %s: %v\n%s", name, err, b)
	}
	return out, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// install copies the binary src into dir as mmbuild-plugin-<name>, mode
// 0755, and returns its path.
func install(t *testing.T, src, dir, name string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "mmbuild-plugin-"+name)
	if err := copyFile(src, dst); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// executed returns the names the fake plugins in dir logged, in order.
func executed(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "describe-log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}
