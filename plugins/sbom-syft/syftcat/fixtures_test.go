package syftcat

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A tiny Go program importing golang.org/x/text, built once per test
// process from the module cache (GOPROXY=off: no network), at the version
// of x/text this module itself uses.
var goBinary struct {
	once sync.Once
	dir  string
	path string
	mod  string // golang.org/x/text's version
	err  error
}

const helloMain = `package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() { fmt.Println(language.English) }
`

// helloBinary returns the path of the Go binary and the x/text version it
// was built with. It skips with -short.
func helloBinary(t testing.TB) (string, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go binary; skipped with -short")
	}
	g := &goBinary
	g.once.Do(func() {
		g.err = buildHello()
	})
	if g.err != nil {
		t.Fatal(g.err)
	}
	return g.path, g.mod
}

func buildHello() error {
	g := &goBinary
	// The version of x/text this module requires, already in the module
	// cache (go mod download put it there with the rest).
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "golang.org/x/text")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go list -m golang.org/x/text: %v", err)
	}
	g.mod = strings.TrimSpace(string(out))
	// The go.sum lines for x/text (and what its go.mod names) come from
	// this module's go.sum.
	sums, err := os.ReadFile(filepath.Join("..", "go.sum"))
	if err != nil {
		return err
	}
	var keep []string
	for _, line := range strings.Split(string(sums), "\n") {
		if strings.HasPrefix(line, "golang.org/x/") {
			keep = append(keep, line)
		}
	}
	if g.dir, err = os.MkdirTemp(baseTmp, "syftcat-hello-"); err != nil {
		return err
	}
	files := map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.26\n\nrequire golang.org/x/text " + g.mod + "\n",
		"go.sum":  strings.Join(keep, "\n") + "\n",
		"main.go": helloMain,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(g.dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	g.path = filepath.Join(g.dir, "hello")
	cmd = exec.Command("go", "build", "-trimpath", "-o", g.path, ".")
	cmd.Dir = g.dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build of the hello fixture: %v\n%s", err, out)
	}
	return nil
}

// baseTmp is the temporary directory the tests started with (cleanTmp
// points TMPDIR elsewhere for a test).
var baseTmp = os.TempDir()

func removeFixtures() {
	if goBinary.dir != "" {
		os.RemoveAll(goBinary.dir)
	}
}
