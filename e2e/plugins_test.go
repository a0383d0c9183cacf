package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// tamper appends to the file at path and returns its sha256 before and
// after ("sha256:<hex>").
func tamper(t *testing.T, path string) (before, after string) {
	t.Helper()
	before = "sha256:" + sha256Hex(t, mustRead(t, path))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("tampered")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return before, "sha256:" + sha256Hex(t, mustRead(t, path))
}

func TestTamperedPluginRefused(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := lockedProject(t, in, "")
	pinned, actual := tamper(t, filepath.Join(in.BinDir, "mmbuild-plugin-make"))

	r := in.Run(dir, "run")
	if r.Code == 0 {
		t.Fatal("run started a tampered plugin")
	}
	line := errorLine(t, r)
	if !strings.Contains(line, pinned) || !strings.Contains(line, actual) {
		t.Errorf("error does not name both sums (pinned %s, actual %s): %s", pinned, actual, line)
	}
	if exists(filepath.Join(dir, "builder-ran")) {
		t.Error("the builder ran")
	}
	assertNothingPublished(t, dir)

	l := in.Run(dir, "plugins", "list", "--strict")
	if l.Code == 0 {
		t.Fatalf("plugins list --strict exited 0:\n%s", l.Stdout)
	}
	if !strings.Contains(l.Stdout, "checksum-mismatch") {
		t.Errorf("plugins list does not show checksum-mismatch:\n%s", l.Stdout)
	}
}

func TestPluginFailuresAreOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, in *testenv.Install, dir string) []string // returns extra args
		want  []string
	}{
		{
			name: "unpinned",
			setup: func(t *testing.T, in *testenv.Install, dir string) []string {
				if err := os.Remove(filepath.Join(dir, "mmbuild.lock.hcl")); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			want: []string{"not pinned", "mmbuild plugins lock", "--allow-unpinned"},
		},
		{
			name: "missing",
			setup: func(t *testing.T, in *testenv.Install, dir string) []string {
				if err := os.Remove(filepath.Join(in.BinDir, "mmbuild-plugin-make")); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			want: []string{`plugin "make" not found`, in0BinDirMarker},
		},
		{
			name: "stdout before handshake",
			setup: func(t *testing.T, in *testenv.Install, dir string) []string {
				in.FaultyPlugin(in.BinDir, "make")
				in.MustRun(dir, "plugins", "lock")
				in.Env = append(in.Env, "MMBUILD_PLUGIN_TEST_FAULT=stdout-junk")
				return nil
			},
			want: []string{"starting plugin make", "hello from a plugin that talks too early"},
		},
		{
			name: "handshake to an address that never answers",
			setup: func(t *testing.T, in *testenv.Install, dir string) []string {
				in.FaultyPlugin(in.BinDir, "make")
				in.MustRun(dir, "plugins", "lock")
				in.Env = append(in.Env, "MMBUILD_PLUGIN_TEST_FAULT=dead-address", "MMBUILD_PLUGIN_START_TIMEOUT=2s")
				return nil
			},
			want: []string{"starting plugin make", "no answer within 2s"},
		},
		{
			name: "crash during build",
			setup: func(t *testing.T, in *testenv.Install, dir string) []string {
				in.FaultyPlugin(in.BinDir, "make")
				in.MustRun(dir, "plugins", "lock")
				in.Env = append(in.Env, "MMBUILD_PLUGIN_TEST_FAULT=crash-build")
				return nil
			},
			want: []string{"plugin make", "crashed", "panic: faulty plugin: crash during Build"},
		},
		{
			name: "crash during get",
			setup: func(t *testing.T, in *testenv.Install, dir string) []string {
				in.FaultyPlugin(in.BinDir, "file")
				in.MustRun(dir, "plugins", "lock")
				in.Env = append(in.Env, "MMBUILD_PLUGIN_TEST_FAULT=crash-get", "MMBUILD_PLUGIN_TEST_FAULT_NAME=file")
				return nil
			},
			want: []string{"fetching material", "plugin file", "crashed", "panic: faulty plugin: crash during Get"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testenv.NewInstall(t)
			dir := lockedProject(t, in, "")
			extra := tt.setup(t, in, dir)
			r := in.Run(dir, append([]string{"run"}, extra...)...)
			if r.Code == 0 {
				t.Fatalf("run succeeded:\n%s", r.Stderr)
			}
			line := errorLine(t, r)
			for _, w := range tt.want {
				if w == in0BinDirMarker {
					w = in.BinDir
				}
				if !strings.Contains(line, w) {
					t.Errorf("error line lacks %q: %s", w, line)
				}
			}
			if exists(filepath.Join(dir, "builder-ran")) {
				t.Error("the builder ran")
			}
			assertNothingPublished(t, dir)
		})
	}
}

// in0BinDirMarker stands for the install's bin folder in expectations.
const in0BinDirMarker = "\x00bindir"
