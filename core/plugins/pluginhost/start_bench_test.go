package pluginhost

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mmbuild/mmbuild/core/plugins/binary"
)

// BenchmarkStart measures what every run pays for a plugin before it does
// any work: exec of the verified binary, go-plugin's handshake, the gRPC
// connection and the first Info, with the pin checked through the sum
// cache as a run checks it. The SDK's minimal example plugin is the floor
// of any plugin built on the SDK; plugins/local (make and file in one
// binary) is what a first-party run starts. Compare with an empty Go
// program's exec (BenchmarkExecEmptyGo) to see what the Go runtime, the
// gRPC and protobuf packages and the handshake add.
//
//	go test ./core/plugins/pluginhost -run '^$' -bench 'Start|ExecEmpty' -benchtime 40x
func BenchmarkStart(b *testing.B) {
	dir := b.TempDir()
	b.Setenv("XDG_RUNTIME_DIR", dir)
	minimal := filepath.Join(dir, "minimal")
	buildMinimal(b, minimal)
	local := filepath.Join(dir, "local")
	goBuild(b, filepath.Join("..", "..", "..", "plugins", "local"), local)
	for _, bc := range []struct{ name, bin, plugin string }{
		{"minimal", minimal, "minimal"},
		{"local-bundle", local, "file"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sums := binary.NewSumCache(filepath.Join(dir, bc.name+"-sums.json"))
			for b.Loop() {
				h := New(func(string) (string, error) { return bc.bin, nil }, func(string) (string, bool) { return "", false },
					WithAllowUnpinned(true), WithSumCache(sums))
				if _, err := h.Start(context.Background(), bc.plugin); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				h.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkExecEmptyGo is the exec and wait of a Go program that does
// nothing: the part of BenchmarkStart no plugin can avoid.
func BenchmarkExecEmptyGo(b *testing.B) {
	dir := b.TempDir()
	for name, text := range map[string]string{"main.go": "package main\n\nfunc main() {}\n", "go.mod": "module empty\n\ngo 1.26\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	empty := filepath.Join(dir, "empty")
	goBuild(b, dir, empty)
	for b.Loop() {
		if err := exec.Command(empty).Run(); err != nil {
			b.Fatal(err)
		}
	}
}
