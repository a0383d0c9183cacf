package lockfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	sumA = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	sumB = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	sumC = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
)

func TestLoadValid(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "valid.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Missing() {
		t.Error("Missing() = true for an existing file")
	}
	if got, want := f.Names(), []string{"make", "s3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	e, ok := f.Pin("make")
	if !ok {
		t.Fatal("no pin for make")
	}
	want := Entry{Name: "make", Version: "0.1.0", Hashes: map[string]string{"linux_amd64": sumA, "darwin_arm64": sumB}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("Pin(make) = %+v, want %+v", e, want)
	}
	if s, ok := e.Sum("darwin_arm64"); !ok || s != sumB {
		t.Errorf("Sum(darwin_arm64) = %q, %v", s, ok)
	}
	if _, ok := e.Sum("windows_amd64"); ok {
		t.Error("Sum(windows_amd64) found a sum")
	}
	if _, ok := f.Pin("nope"); ok {
		t.Error("Pin(nope) found an entry")
	}
}

func TestLoadMissing(t *testing.T) {
	f, err := Load(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Missing() || len(f.Names()) != 0 {
		t.Errorf("Missing() = %v, Names() = %v; want true, []", f.Missing(), f.Names())
	}
	// A directory where the file should be is an error, not "missing".
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, FileName), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, FileName)); err == nil {
		t.Error("Load of a directory succeeded")
	}
}

func TestRoundTrip(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "valid.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := f.Write(path); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatalf("reloading what Write wrote: %v", err)
	}
	if !reflect.DeepEqual(f, g) {
		t.Errorf("round trip changed the file:\n%+v\n%+v", f, g)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, g.Bytes()) {
		t.Errorf("second write differs:\n%s\n---\n%s", b, g.Bytes())
	}
	want := `# This file is maintained by "mmbuild plugins lock". Commit it beside mmbuild.yaml.
plugin "make" {
  version = "0.1.0"
  hashes = {
    darwin_arm64 = "` + sumB + `"
    linux_amd64  = "` + sumA + `"
  }
}

plugin "s3" {
  version = "v1.2.3"
  hashes = {
    linux_amd64 = "` + sumA + `"
  }
}
`
	if string(b) != want {
		t.Errorf("Bytes:\n%s\nwant:\n%s", b, want)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	// Nothing but the lock file is left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1 (temporary file left?)", len(entries))
	}
}

func TestBytesDeterministic(t *testing.T) {
	// The same pins set in different orders give the same bytes.
	build := func(order []int) []byte {
		f := New()
		sets := [][4]string{
			{"s3", "1.0.0", "linux_amd64", sumA},
			{"make", "0.1.0", "linux_arm64", sumB},
			{"make", "0.1.0", "darwin_arm64", sumC},
			{"file", "2.0.0", "windows_amd64", sumA},
			{"make", "0.1.0", "linux_amd64", sumA},
		}
		for _, i := range order {
			s := sets[i]
			if err := f.Set(s[0], s[1], s[2], s[3]); err != nil {
				t.Fatal(err)
			}
		}
		return f.Bytes()
	}
	first := build([]int{0, 1, 2, 3, 4})
	for _, order := range [][]int{{4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}, {1, 4, 0, 3, 2}} {
		for range 5 { // map iteration differs between runs
			if got := build(order); !bytes.Equal(got, first) {
				t.Fatalf("order %v gives different bytes:\n%s\n---\n%s", order, got, first)
			}
		}
	}
	if i, j := bytes.Index(first, []byte(`"file"`)), bytes.Index(first, []byte(`"make"`)); i > j {
		t.Errorf("plugins not sorted by name:\n%s", first)
	}
	if i, j := bytes.Index(first, []byte("darwin_arm64")), bytes.Index(first, []byte("linux_arm64")); i > j {
		t.Errorf("platforms not sorted:\n%s", first)
	}
}

func TestSetMergesPlatforms(t *testing.T) {
	f := New()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.Set("make", "0.1.0", "linux_amd64", sumA))
	must(f.Set("make", "0.1.0", "darwin_arm64", sumB))
	// Locking again on linux with a new version keeps darwin's hash and
	// replaces the version and linux's hash.
	must(f.Set("make", "0.2.0", "linux_amd64", sumC))
	e, _ := f.Pin("make")
	want := Entry{Name: "make", Version: "0.2.0", Hashes: map[string]string{"linux_amd64": sumC, "darwin_arm64": sumB}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("after merge: %+v, want %+v", e, want)
	}
	// Pin returns a copy.
	e.Hashes["linux_amd64"] = sumA
	if e2, _ := f.Pin("make"); e2.Hashes["linux_amd64"] != sumC {
		t.Error("changing the Entry returned by Pin changed the File")
	}
	// Merge survives a write and a reload from disk.
	path := filepath.Join(t.TempDir(), FileName)
	must(f.Write(path))
	g, err := Load(path)
	must(err)
	must(g.Set("make", "0.2.0", "windows_amd64", sumA))
	must(g.Write(path))
	h, err := Load(path)
	must(err)
	if e, _ := h.Pin("make"); len(e.Hashes) != 3 || e.Hashes["darwin_arm64"] != sumB {
		t.Errorf("after reload and merge: %+v", e)
	}

	f.Remove("make")
	f.Remove("never-there")
	if len(f.Names()) != 0 {
		t.Errorf("Names() after Remove = %v", f.Names())
	}
}

func TestSetRefusesWhatLoadRejects(t *testing.T) {
	f := New()
	for _, tc := range []struct{ name, platform, sum, want string }{
		{"Make", "linux_amd64", sumA, "invalid plugin name"},
		{"make", "linux-amd64", sumA, "invalid platform"},
		{"make", "linux_amd64", "sha256:abc", "malformed sum"},
		{"make", "linux_amd64", strings.ToUpper(sumA), "malformed sum"},
		{"make", "linux_amd64", "md5:" + sumA[7:], "malformed sum"},
	} {
		err := f.Set(tc.name, "1", tc.platform, tc.sum)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Set(%q, %q, %q) = %v, want an error containing %q", tc.name, tc.platform, tc.sum, err, tc.want)
		}
	}
	if len(f.Names()) != 0 {
		t.Errorf("refused Set left entries: %v", f.Names())
	}
}

func TestQuotingRoundTrips(t *testing.T) {
	f := New()
	version := `1.0 "quoted" ${not.a.var} %{x} \ back`
	if err := f.Set("make", version, "linux_amd64", sumA); err != nil {
		t.Fatal(err)
	}
	g, err := Parse(f.Bytes(), FileName)
	if err != nil {
		t.Fatalf("%v\n%s", err, f.Bytes())
	}
	if e, _ := g.Pin("make"); e.Version != version {
		t.Errorf("version %q came back as %q", version, e.Version)
	}
}

func TestLoadErrors(t *testing.T) {
	table := []struct {
		file string
		pos  string // line:col
		want string
	}{
		{"syntax-unclosed.hcl", "1:15", "Unclosed configuration block"},
		{"unknown-argument.hcl", "4:3", `argument named "constraints" is not expected`},
		{"unknown-block.hcl", "1:1", `Blocks of type "provider" are not expected`},
		{"top-level-argument.hcl", "1:1", `argument named "version" is not expected`},
		{"extra-label.hcl", "1:15", "Extraneous label"},
		{"bad-name.hcl", "1:8", `invalid plugin name "Make"`},
		{"bad-sum-short.hcl", "4:19", `plugin "make": hashes.linux_amd64: malformed sum "sha256:0123"`},
		{"bad-sum-upper.hcl", "4:19", "malformed sum"},
		{"bad-sum-algorithm.hcl", "4:19", `malformed sum "sha512:`},
		{"sum-not-string.hcl", "3:28", "hashes.linux_amd64 must be a string"},
		{"bad-platform.hcl", "4:5", `invalid platform "linux-amd64"`},
		{"duplicate-plugin.hcl", "6:8", `plugin "make" is pinned twice`},
		{"duplicate-platform.hcl", "5:5", "platform linux_amd64 is pinned twice"},
		{"missing-version.hcl", "1:15", `argument "version" is required`},
		{"missing-hashes.hcl", "1:15", `argument "hashes" is required`},
		{"hashes-not-object.hcl", "3:12", "hashes must be an object"},
		{"hashes-empty.hcl", "3:12", "hashes is empty"},
		{"interpolation.hcl", "2:16", "Variables not allowed"},
		{"version-number.hcl", "2:13", "version must be a string"},
		{"kinds-bad-class.hcl", "3:35", `plugin "git": kinds[1]: invalid kind "source:git" (want handler:<id>, storage:<scheme> or sbom:<id>)`},
		{"kinds-no-class.hcl", "3:14", `plugin "make": kinds[0]: invalid kind "make" (want handler:<id>, storage:<scheme> or sbom:<id>)`},
		{"kinds-upper.hcl", "3:14", `invalid kind "storage:HTTPS" (want a lower-case scheme: [a-z][a-z0-9+.-]*)`},
		{"kinds-empty-id.hcl", "4:5", `invalid kind "handler:" (want a lower-case handler id`},
		{"kinds-bad-scheme.hcl", "3:14", `invalid kind "storage:3d"`},
		{"kinds-not-list.hcl", "3:13", `plugin "http": kinds must be a list such as ["storage:https"]`},
		{"kinds-not-string.hcl", "3:28", `plugin "s3": kinds[1] must be a string`},
		{"kinds-empty.hcl", "3:13", `plugin "s3": kinds is empty`},
		{"kinds-duplicate.hcl", "3:47", `plugin "http": kind storage:https is listed twice`},
		{"kinds-conflict.hcl", "9:14", `plugin "web": kind storage:https is recorded by plugin "http" too`},
		{"kinds-interpolation.hcl", "3:25", "Variables not allowed"},
	}
	for _, tc := range table {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "errors", tc.file)
			f, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded: %v", f.Names())
			}
			var lerr *Error
			if !errors.As(err, &lerr) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			msg := err.Error()
			if prefix := path + ":" + tc.pos + ": "; !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q does not start with %q", msg, prefix)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error spans lines: %q", msg)
			}
		})
	}
	// Every fixture is covered.
	files, _ := filepath.Glob(filepath.Join("testdata", "errors", "*.hcl"))
	if len(files) != len(table) {
		t.Errorf("%d fixtures in testdata/errors, the table covers %d", len(files), len(table))
	}
}

func TestPlatform(t *testing.T) {
	if !platformPattern.MatchString(Platform()) {
		t.Errorf("Platform() = %q does not look like GOOS_GOARCH", Platform())
	}
}

func ExampleFile_Set() {
	f := New()
	_ = f.Set("make", "0.1.0", "linux_amd64", "sha256:"+strings.Repeat("ab", 32))
	os.Stdout.Write(f.Bytes())
	// Output:
	// # This file is maintained by "mmbuild plugins lock". Commit it beside mmbuild.yaml.
	// plugin "make" {
	//   version = "0.1.0"
	//   hashes = {
	//     linux_amd64 = "sha256:abababababababababababababababababababababababababababababababab"
	//   }
	// }
}

// A lock file nested 100,000 levels deep (brackets, templates or unary
// operators) is refused with its position before the HCL parser, which
// recurses once a level, can overflow its stack.
func TestParseRefusesDeepNestingBeforeTheParser(t *testing.T) {
	const n = 100_000
	head := "plugin \"make\" {\n  version = \"1.0.0\"\n  hashes = "
	for name, value := range map[string]string{
		"brackets":  strings.Repeat("[", n) + strings.Repeat("]", n),
		"templates": strings.Repeat(`"${`, n) + "1" + strings.Repeat(`}"`, n),
		"unary":     strings.Repeat("!", n) + "true",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(head+value+"\n}\n"), "mmbuild.lock.hcl")
			var lerr *Error
			if !errors.As(err, &lerr) || !strings.Contains(err.Error(), "nested more than 32 levels deep") {
				t.Fatalf("err = %v, want the depth refused", err)
			}
			if lerr.Line != 3 {
				t.Errorf("error at line %d, want 3 (hashes): %v", lerr.Line, err)
			}
		})
	}
}

// A lock file that is a named pipe is refused at once, without opening it
// (which would wait for a writer), and one over MaxSize is refused too.
func TestLoadRefusesAPipeAndAnOversizedFile(t *testing.T) {
	dir := t.TempDir()
	pipe := filepath.Join(dir, "pipe.hcl")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.hcl")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# \n"), MaxSize), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{pipe: "not a regular file", big: "larger than 1024 KiB"} {
		done := make(chan error, 1)
		go func() { _, err := Load(path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Load(%s) = %v, want %q", path, err, want)
			}
		case <-time.After(5 * time.Second):
			if w, err := os.OpenFile(pipe, os.O_WRONLY, 0); err == nil {
				w.Close()
			}
			<-done
			t.Fatalf("Load(%s) blocked", path)
		}
	}
}
