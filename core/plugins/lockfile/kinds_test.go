package lockfile

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLoadKinds(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "kinds.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		kinds []string
	}{
		{"git", []string{"storage:git+file", "storage:git+https", "storage:git+ssh"}},
		{"http", []string{"storage:http", "storage:https"}},
		{"make", []string{"handler:make"}},
		{"old", nil}, // locked before kinds were recorded
	} {
		e, ok := f.Pin(tc.name)
		if !ok {
			t.Fatalf("no pin for %s", tc.name)
		}
		if !reflect.DeepEqual(e.Kinds, tc.kinds) {
			t.Errorf("%s: kinds %q, want %q (sorted)", tc.name, e.Kinds, tc.kinds)
		}
	}
	if c := f.Conflicts(); c != nil {
		t.Errorf("Conflicts() = %v", c)
	}

	// Written sorted, after the version; a file without kinds stays without.
	want := `# This file is maintained by "mmbuild plugins lock". Commit it beside mmbuild.yaml.
plugin "git" {
  version = "0.3.0"
  kinds   = ["storage:git+file", "storage:git+https", "storage:git+ssh"]
  hashes = {
    darwin_arm64 = "` + sumB + `"
    linux_amd64  = "` + sumA + `"
  }
}

plugin "http" {
  version = "1.0.0"
  kinds   = ["storage:http", "storage:https"]
  hashes = {
    linux_amd64 = "` + sumA + `"
  }
}

plugin "make" {
  version = "0.1.0"
  kinds   = ["handler:make"]
  hashes = {
    linux_amd64 = "` + sumA + `"
  }
}

plugin "old" {
  version = "0.0.1"
  hashes = {
    linux_amd64 = "` + sumA + `"
  }
}
`
	if got := string(f.Bytes()); got != want {
		t.Errorf("Bytes:\n%s\nwant:\n%s", got, want)
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
}

func TestClaims(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "kinds.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind string
		want []string
	}{
		{"storage:https", []string{"http"}},
		{"storage:git+ssh", []string{"git"}},
		{"handler:make", []string{"make"}},
		{"storage:make", nil}, // the class counts
		{"storage:s3", nil},
		{"storage:HTTPS", nil},
	} {
		if got := f.Claims(tc.kind); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Claims(%s) = %v, want %v", tc.kind, got, tc.want)
		}
	}
	if e, _ := f.Pin("http"); !e.Serves("storage:http") || e.Serves("storage:git+ssh") {
		t.Errorf("Serves: %+v", e)
	}
}

func TestParseKind(t *testing.T) {
	for _, tc := range []struct {
		kind, class, id, err string
	}{
		{"handler:make", "handler", "make", ""},
		{"storage:https", "storage", "https", ""},
		{"storage:git+ssh", "storage", "git+ssh", ""},
		{"storage:x-y.z0", "storage", "x-y.z0", ""},
		{"storage:HTTPS", "", "", "lower-case scheme"},
		{"handler:Make", "", "", "lower-case handler id"},
		{"storage:", "", "", "lower-case scheme"},
		{"storage:9p", "", "", "lower-case scheme"},
		{"storage:s3:x", "", "", "lower-case scheme"},
		{"storage: s3", "", "", "lower-case scheme"},
		{"sbom:syft", "sbom", "syft", ""},
		{"source:git", "", "", "want handler:<id>, storage:<scheme> or sbom:<id>"},
		{"Storage:s3", "", "", "want handler:<id>, storage:<scheme> or sbom:<id>"},
		{"make", "", "", "want handler:<id>, storage:<scheme> or sbom:<id>"},
		{"", "", "", "want handler:<id>, storage:<scheme> or sbom:<id>"},
	} {
		class, id, err := ParseKind(tc.kind)
		if tc.err == "" {
			if err != nil || class != tc.class || id != tc.id {
				t.Errorf("ParseKind(%q) = %q, %q, %v; want %q, %q", tc.kind, class, id, err, tc.class, tc.id)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) || class != "" || id != "" {
			t.Errorf("ParseKind(%q) = %q, %q, %v; want an error containing %q", tc.kind, class, id, err, tc.err)
		}
	}
}

func TestSetKinds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kinds []string
		want  []string // the recorded kinds
		err   string
	}{
		{"sorted", []string{"storage:https", "storage:http"}, []string{"storage:http", "storage:https"}, ""},
		{"once each", []string{"handler:make", "handler:make"}, []string{"handler:make"}, ""},
		{"nil records none", nil, nil, ""},
		{"empty records none", []string{}, nil, ""},
		{"invalid kind", []string{"storage:https", "storage:HTTP"}, []string{"storage:s3"}, `recording the kinds of plugin "p": invalid kind "storage:HTTP"`},
		{"unknown class", []string{"secret:vault"}, []string{"storage:s3"}, `invalid kind "secret:vault"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := New()
			if err := f.Set("p", "1.0.0", "linux_amd64", sumA); err != nil {
				t.Fatal(err)
			}
			if err := f.SetKinds("p", []string{"storage:s3"}); err != nil {
				t.Fatal(err)
			}
			in := append([]string(nil), tc.kinds...)
			err := f.SetKinds("p", tc.kinds)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("SetKinds(%q) = %v, want error %q", tc.kinds, err, tc.err)
			}
			if e, _ := f.Pin("p"); !reflect.DeepEqual(e.Kinds, tc.want) {
				t.Errorf("recorded %q, want %q", e.Kinds, tc.want)
			}
			if !slices.Equal(in, tc.kinds) {
				t.Errorf("SetKinds changed its argument: %q", tc.kinds)
			}
			// What SetKinds records, Load reads back.
			if _, err := Parse(f.Bytes(), FileName); err != nil {
				t.Errorf("reading back: %v\n%s", err, f.Bytes())
			}
		})
	}

	f := New()
	if err := f.SetKinds("nope", []string{"handler:make"}); err == nil || !strings.Contains(err.Error(), `plugin "nope": it is not pinned`) {
		t.Errorf("SetKinds of an unpinned plugin: %v", err)
	}
	// Set keeps the kinds recorded; Pin returns a copy of them.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.Set("make", "0.1.0", "linux_amd64", sumA))
	must(f.SetKinds("make", []string{"handler:make"}))
	must(f.Set("make", "0.2.0", "linux_amd64", sumB))
	e, _ := f.Pin("make")
	if !reflect.DeepEqual(e.Kinds, []string{"handler:make"}) {
		t.Errorf("Set dropped the kinds: %+v", e)
	}
	e.Kinds[0] = "handler:other"
	if e2, _ := f.Pin("make"); e2.Kinds[0] != "handler:make" {
		t.Error("changing the Entry returned by Pin changed the File")
	}
}

func TestConflicts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kinds map[string][]string
		want  []Conflict
		msg   string // the first conflict's message
	}{
		{"none", map[string][]string{"http": {"storage:http", "storage:https"}, "git": {"storage:git+https"}, "old": nil}, nil, ""},
		{"two", map[string][]string{"http": {"storage:http", "storage:https"}, "web": {"storage:https"}},
			[]Conflict{{"storage:https", []string{"http", "web"}}},
			`plugins "http" and "web" both record kind storage:https`},
		{"three, and two kinds", map[string][]string{"a": {"handler:x", "storage:y"}, "b": {"handler:x"}, "c": {"handler:x", "storage:y"}},
			[]Conflict{{"handler:x", []string{"a", "b", "c"}}, {"storage:y", []string{"a", "c"}}},
			`plugins "a", "b" and "c" all record kind handler:x`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := New()
			for name, kinds := range tc.kinds {
				if err := f.Set(name, "1", "linux_amd64", sumA); err != nil {
					t.Fatal(err)
				}
				if err := f.SetKinds(name, kinds); err != nil {
					t.Fatal(err)
				}
			}
			got := f.Conflicts()
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Conflicts() = %v, want %v", got, tc.want)
			}
			path := filepath.Join(t.TempDir(), FileName)
			err := f.Write(path)
			if tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Write = %v, want an error containing %q", err, tc.msg)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("Write of a conflicting file wrote it: %v", err)
			}
		})
	}
}

func TestClone(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "kinds.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	g := f.Clone()
	if !reflect.DeepEqual(f, g) {
		t.Fatalf("clone differs:\n%+v\n%+v", f, g)
	}
	if err := g.Set("make", "9.9.9", "linux_amd64", sumC); err != nil {
		t.Fatal(err)
	}
	if err := g.SetKinds("http", []string{"storage:ftp"}); err != nil {
		t.Fatal(err)
	}
	g.Remove("git")
	if e, _ := f.Pin("make"); e.Version != "0.1.0" || e.Hashes["linux_amd64"] != sumA {
		t.Errorf("changing the clone changed make: %+v", e)
	}
	if e, _ := f.Pin("http"); !e.Serves("storage:https") {
		t.Errorf("changing the clone changed http's kinds: %+v", e)
	}
	if _, ok := f.Pin("git"); !ok {
		t.Error("removing from the clone removed from the original")
	}
	// The clone of a missing file is missing until it is written.
	m, err := Load(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	c := m.Clone()
	if !c.Missing() {
		t.Error("clone of a missing file is not Missing")
	}
	if err := c.Set("make", "1", "linux_amd64", sumA); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(filepath.Join(t.TempDir(), FileName)); err != nil {
		t.Fatal(err)
	}
	if c.Missing() || !m.Missing() {
		t.Errorf("after Write: clone Missing %v (want false), original %v (want true)", c.Missing(), m.Missing())
	}
}

func ExampleFile_SetKinds() {
	f := New()
	_ = f.Set("http", "1.0.0", "linux_amd64", "sha256:"+strings.Repeat("ab", 32))
	_ = f.SetKinds("http", []string{"storage:https", "storage:http"})
	os.Stdout.Write(f.Bytes())
	// Output:
	// # This file is maintained by "mmbuild plugins lock". Commit it beside mmbuild.yaml.
	// plugin "http" {
	//   version = "1.0.0"
	//   kinds   = ["storage:http", "storage:https"]
	//   hashes = {
	//     linux_amd64 = "sha256:abababababababababababababababababababababababababababababababab"
	//   }
	// }
}
