package pluginhost

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/plugins/storage-file/filestore"
	"github.com/mmbuild/mmbuild/sdk/host"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

func TestBaseEnvKeepsOnlyWhatABackendNeeds(t *testing.T) {
	in := []string{"PATH=/bin", "HOME=/h", "CI_JOB_TOKEN=secret", "AWS_REGION=x", "MMBUILD_S3_ENDPOINT=e",
		"XDG_DATA_HOME=/d", "https_proxy=p", "GITHUB_TOKEN=t", "novalue"}
	want := []string{"PATH=/bin", "HOME=/h", "AWS_REGION=x", "MMBUILD_S3_ENDPOINT=e", "XDG_DATA_HOME=/d", "https_proxy=p"}
	if got := BaseEnv(in); !slices.Equal(got, want) {
		t.Fatalf("BaseEnv = %v, want %v", got, want)
	}
	if got := BaseEnv(nil); got == nil || len(got) != 0 {
		t.Fatalf("BaseEnv(nil) = %#v, want an empty, non-nil list (nil would mean inherit)", got)
	}
}

func TestTailExplainsACrashInOneLine(t *testing.T) {
	tests := []struct {
		name, stderr, want string
	}{
		{"panic wins", "{\"@level\":\"info\"}\npanic: boom\n\ngoroutine 1 [running]:\nmain.main()\n", "panic: boom"},
		{"fatal error", "fatal error: out of memory\nmore\n", "fatal error: out of memory"},
		{"last plain line", "starting\n{\"json\":1}\nlisten tcp: address in use\n{\"json\":2}\n", "listen tcp: address in use"},
		{"only json", "{\"a\":1}\n", ""},
	}
	for _, tt := range tests {
		var tl tail
		_, _ = tl.Write([]byte(tt.stderr))
		if got := tl.firstPanicOrLast(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestAttachedStartsEachPluginOnce(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("file"), plugin.WithVersion("1.2.3"), plugin.WithStorage("file", filestore.New()))
	h := NewAttached(map[string]*host.Conn{"file": conn})
	defer h.Close()
	ctx := context.Background()
	m, err := h.StartAll(ctx, []string{"file", "file"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.Start(ctx, "file")
	if err != nil || again != m["file"] {
		t.Fatalf("second start: %v, same process: %v", err, again == m["file"])
	}
	if p := m["file"]; p.Info.Version != "1.2.3" || !p.Info.HasKind("storage:file") || !strings.HasPrefix(p.SHA256, "sha256:") {
		t.Fatalf("plugin %+v", p)
	}
	if len(h.Plugins()) != 1 {
		t.Fatalf("Plugins() = %d, want 1", len(h.Plugins()))
	}
	_, err = h.StartAll(ctx, []string{"file", "s3"})
	var nf *discovery.NotFoundError
	if !errors.As(err, &nf) || nf.Name != "s3" {
		t.Fatalf("unknown plugin: %v", err)
	}
}

// The pin is checked before anything runs: these "binaries" are shell
// scripts that would leave a mark if executed.
// markingPlugin writes a plugin binary that only creates mark when run.
func markingPlugin(t *testing.T) (bin, mark string) {
	t.Helper()
	dir := t.TempDir()
	bin, mark = filepath.Join(dir, "mmbuild-plugin-x"), filepath.Join(dir, "ran")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ntouch "+mark+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, mark
}

func TestPinCheckedBeforeExec(t *testing.T) {
	bin, mark := markingPlugin(t)
	find := func(string) (string, error) { return bin, nil }
	tests := []struct {
		name string
		pin  func(string) (string, bool)
		want any
	}{
		{"unpinned", func(string) (string, bool) { return "", false }, &UnpinnedError{}},
		{"wrong sum", func(string) (string, bool) { return "sha256:" + strings.Repeat("0", 64), true }, &ChecksumError{}},
		{"malformed sum", func(string) (string, bool) { return "md5:abc", true }, "malformed pinned sum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(find, tt.pin)
			defer h.Close()
			_, err := h.Start(context.Background(), "x")
			switch want := tt.want.(type) {
			case *UnpinnedError:
				if !errors.As(err, &want) {
					t.Fatalf("err = %v, want UnpinnedError", err)
				}
			case *ChecksumError:
				if !errors.As(err, &want) || !strings.Contains(want.Actual, "sha256:") {
					t.Fatalf("err = %v, want ChecksumError naming both sums", err)
				}
			case string:
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want %q", err, want)
				}
			}
			if _, err := os.Stat(mark); err == nil {
				t.Fatal("the unverified binary ran")
			}
		})
	}
}

// A start timeout that is not a duration is refused, before any plugin
// runs, instead of silently becoming the default.
func TestStartRefusesAStartTimeoutThatIsNotADuration(t *testing.T) {
	bin, mark := markingPlugin(t)
	for _, v := range []string{"banana", "-5s", "0"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv(StartTimeoutEnv, v)
			h := New(func(string) (string, error) { return bin, nil }, func(string) (string, bool) { return "", false }, WithAllowUnpinned(true))
			defer h.Close()
			_, err := h.Start(context.Background(), "x")
			if want := "$MMBUILD_PLUGIN_START_TIMEOUT=\"" + v + "\" is not a duration such as 20s or 2m"; err == nil || err.Error() != want {
				t.Fatalf("err = %v, want %q", err, want)
			}
			if _, err := os.Stat(mark); err == nil {
				t.Fatal("the plugin ran")
			}
		})
	}
}

// A plugin's 60 KiB log line (one JSON entry, as go-plugin relays it) is
// relayed cut to a bounded line that says how much was left out.
func TestRelayedLogLineIsCapped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin binary")
	}
	out := startLogging(t, `strings.Repeat("x", 60<<10)`)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "xxxx") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := out.String()
	if !strings.Contains(got, "more bytes of the plugin's message left out") {
		t.Fatalf("relayed %d bytes without the cut: %.300q", len(got), got)
	}
	for _, l := range strings.Split(got, "\n") {
		if len(l) > host.MaxRelayed+512 {
			t.Fatalf("a relayed line of %d bytes", len(l))
		}
	}
}

// A plugin's log lines are relayed under its name, not under the
// descriptor it was run from (/proc/self/fd/N).
func TestRelayedLogLineNamesThePlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin binary")
	}
	out := startLogging(t, `"hello from x"`)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "hello from x") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := out.String(); !strings.Contains(got, "[INFO]  x: hello from x") {
		t.Fatalf("the plugin's line is not under its name x: %q", got)
	}
}

// startLogging builds a plugin x that writes one log entry on stderr, the
// message given as a Go expression, and exits; starts it (which fails:
// it does no handshake) and returns what the host's logger received. It
// runs through the verified descriptor, as every plugin, so it is a real
// binary.
func startLogging(t *testing.T, message string) *syncBuffer {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for name, data := range map[string]string{
		"go.mod": "module loud\n\ngo 1.22\n",
		"main.go": `package main

import (
	"os"
	"strings"
)

var _ = strings.Repeat

func main() {
	os.Stderr.WriteString(` + "`" + `{"@level":"info","@message":"` + "`" + ` + ` + message + ` + ` + "`" + `","@timestamp":"2026-01-01T00:00:00.000000Z"}` + "`" + ` + "\n")
	os.Exit(1)
}
`,
	} {
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "mmbuild-plugin-x")
	goBuild(t, src, bin)
	out := &syncBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Output: out, Level: hclog.Info})
	h := New(func(string) (string, error) { return bin, nil }, func(string) (string, bool) { return "", false }, WithAllowUnpinned(true), WithLogger(logger))
	if _, err := h.Start(context.Background(), "x"); err == nil {
		t.Fatal("a plugin without a handshake started")
	}
	h.Close()
	return out
}

// syncBuffer is a bytes.Buffer safe for the relay's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
