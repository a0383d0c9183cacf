package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pinOf is the "sha256:<hex>" a lock file pins for the binary at path.
func pinOf(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// buildMinimal compiles the SDK's example storage plugin.
func buildMinimal(t testing.TB, out string) {
	t.Helper()
	goBuild(t, filepath.Join("..", "..", "..", "sdk", "examples", "storage-minimal"), out)
}

// goBuild compiles the main package in dir to out, as the Makefile does.
func goBuild(t testing.TB, dir, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", dir, err, b)
	}
}

// While a loop swaps the plugin file between the pinned binary and another
// executable, repeated starts either run the pinned binary or refuse: the
// swapped-in file never executes, because the bytes hashed are the bytes
// executed (one open descriptor), not whatever the path names a moment
// later.
func TestSwappedBinaryNeverRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin binary")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	buildMinimal(t, good)
	mark := filepath.Join(dir, "evil-ran")
	evil := filepath.Join(dir, "evil")
	if err := os.WriteFile(evil, []byte("#!/bin/sh\ntouch "+mark+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pinned := pinOf(t, good)
	pin := pinned
	plugins := filepath.Join(dir, "plugins")
	if err := os.Mkdir(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(plugins, "mmbuild-plugin-minimal")
	swap := func(src string) {
		tmp := target + ".tmp"
		_ = os.Remove(tmp)
		if err := os.Link(src, tmp); err == nil {
			_ = os.Rename(tmp, target)
		}
	}
	swap(good)

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if i%2 == 0 {
				swap(evil)
			} else {
				swap(good)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	started, refused := 0, 0
	for i := 0; i < 60 && (started < 3 || i < 20); i++ {
		h := New(func(string) (string, error) { return target, nil }, func(string) (string, bool) { return pin, true })
		p, err := h.Start(context.Background(), "minimal")
		if err == nil {
			started++
			if !p.Info.HasKind("storage:mem") {
				t.Errorf("started plugin serves %v", p.Info.Kinds)
			}
		} else {
			refused++
		}
		h.Close()
	}
	stop.Store(true)
	wg.Wait()
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("the swapped-in binary ran")
	}
	if started == 0 {
		t.Fatalf("no start succeeded in %d tries: the test proves nothing", refused)
	}
	t.Logf("%d starts ran the pinned binary, %d were refused, the swapped-in file never ran", started, refused)
}

// A plugin whose folder others can write is refused before anything runs.
func TestInsecureFolderRefused(t *testing.T) {
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	if err := os.Mkdir(plugins, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(plugins, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	bin := filepath.Join(plugins, "mmbuild-plugin-x")
	mark := filepath.Join(dir, "ran")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ntouch "+mark+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := New(func(string) (string, error) { return bin, nil }, func(string) (string, bool) { return "sha256:" + hex.EncodeToString(make([]byte, 32)), true })
	defer h.Close()
	_, err := h.Start(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "refusing to run plugin") || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("the plugin ran")
	}
}

// A plugin is ended with a signal, so it cannot unlink its own socket: the
// host makes the folder the sockets go in (in $XDG_RUNTIME_DIR first) and
// removes it on Close, and a run leaves nothing behind.
func TestCloseLeavesNoSocket(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin binary")
	}
	dir := t.TempDir()
	runtime := filepath.Join(dir, "run")
	t.Setenv("XDG_RUNTIME_DIR", runtime)
	if err := os.Mkdir(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "mmbuild-plugin-minimal")
	buildMinimal(t, bin)
	pinned := pinOf(t, bin)
	pin := pinned
	h := New(func(string) (string, error) { return bin, nil }, func(string) (string, bool) { return pin, true })
	if _, err := h.Start(context.Background(), "minimal"); err != nil {
		t.Fatal(err)
	}
	sockets, _ := filepath.Glob(filepath.Join(runtime, "mmbuild-plugins-*", "plugin*"))
	if len(sockets) != 1 {
		t.Fatalf("sockets while the plugin runs: %v, want one in the host's folder", sockets)
	}
	h.Close()
	left, err := os.ReadDir(runtime)
	if err != nil || len(left) != 0 {
		t.Fatalf("left in the runtime folder after Close: %v (%v)", left, err)
	}
	if _, err := h.Start(context.Background(), "other"); err == nil {
		t.Fatal("a closed host started a plugin")
	}
}

// CloseNoWait ends the plugin processes without waiting for them to be
// reaped: once it returns, the process is dead (gone, or a zombie waiting
// for its reaper) and its socket folder removed.
func TestCloseNoWaitEndsThePlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin binary")
	}
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	bin := filepath.Join(dir, "mmbuild-plugin-minimal")
	buildMinimal(t, bin)
	pinned := pinOf(t, bin)
	h := New(func(string) (string, error) { return bin, nil }, func(string) (string, bool) { return pinned, true })
	p, err := h.Start(context.Background(), "minimal")
	if err != nil {
		t.Fatal(err)
	}
	pid := p.client.ReattachConfig().Pid
	h.CloseNoWait()
	if left, _ := filepath.Glob(filepath.Join(dir, "mmbuild-plugins-*")); len(left) != 0 {
		t.Fatalf("socket folder left: %v", left)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil || processState(string(stat)) == "Z" {
			break // gone, or dead and not yet reaped
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d still running after CloseNoWait: %s", pid, stat)
		}
	}
	h.Close() // reaps, and is harmless after CloseNoWait
}

// processState is the state field of a /proc/PID/stat line.
func processState(stat string) string {
	if i := strings.LastIndexByte(stat, ')'); i >= 0 && i+3 <= len(stat) {
		return stat[i+2 : i+3]
	}
	return ""
}

// The plugins of a bundle installed under their names are one binary: a
// run that needs both starts one process, and each keeps its own name,
// Info and kinds. A single plugin's binary installed under a second name is
// refused for that name, not served as it.
func TestBundleIsOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plugin binaries")
	}
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	bundle := filepath.Join(dir, "bundle")
	goBuild(t, filepath.Join("..", "..", "..", "plugins", "local"), bundle)
	minimal := filepath.Join(dir, "minimal")
	buildMinimal(t, minimal)
	paths := map[string]string{"make": bundle, "file": bundle, "minimal": minimal, "copy": minimal}
	pins := map[string]string{}
	for name, bin := range paths {
		pinned := pinOf(t, bin)
		pins[name] = pinned
	}
	h := New(func(name string) (string, error) { return paths[name], nil }, func(name string) (string, bool) { p, ok := pins[name]; return p, ok })
	defer h.Close()
	ps, err := h.StartAll(context.Background(), []string{"make", "file"})
	if err != nil {
		t.Fatal(err)
	}
	mk, file := ps["make"], ps["file"]
	if mk.client != file.client {
		t.Fatal("make and file of one bundle started two processes")
	}
	if mk.Info.Name != "make" || !mk.Info.HasKind("handler:make") || mk.Info.HasKind("storage:file") {
		t.Fatalf("make's Info: %+v", mk.Info)
	}
	if file.Info.Name != "file" || !file.Info.HasKind("storage:file") || file.Info.HasKind("handler:make") {
		t.Fatalf("file's Info: %+v", file.Info)
	}
	if _, err := h.Start(context.Background(), "minimal"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Start(context.Background(), "copy"); err == nil || !strings.Contains(err.Error(), "is the same binary as plugin minimal, which serves no plugin copy") {
		t.Fatalf("a single plugin's binary under a second name: %v", err)
	}
}
