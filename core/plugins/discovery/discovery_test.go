package discovery

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func env(m map[string]string) Option {
	return WithEnv(func(k string) string { return m[k] })
}

func TestSearchPathOrder(t *testing.T) {
	root := t.TempDir()
	p := func(s ...string) string { return filepath.Join(append([]string{root}, s...)...) }
	got := SearchPath(
		env(map[string]string{
			EnvPluginPath:   p("a") + "::" + p("b") + ":" + p("a") + ":",
			"XDG_DATA_HOME": p("data"),
			"HOME":          p("home"),
		}),
		WithProjectDir(p("proj")),
		WithExecutableDir(p("bin")),
	)
	want := []Dir{
		{p("a"), OriginEnv},
		{p("b"), OriginEnv},
		{p("proj", ".mmbuild", "plugins"), OriginProject},
		{p("data", "mmbuild", "plugins"), OriginUser},
		{p("bin"), OriginBesideMmbuild},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SearchPath:\n got %v\nwant %v", got, want)
	}
}

func TestSearchPathDefaults(t *testing.T) {
	home := t.TempDir()
	// No XDG_DATA_HOME: ~/.local/share. No project, no executable dir.
	got := SearchPath(env(map[string]string{"HOME": home}), WithExecutableDir(""))
	want := []Dir{{filepath.Join(home, ".local", "share", "mmbuild", "plugins"), OriginUser}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// A relative XDG_DATA_HOME is ignored, as the XDG spec says.
	got = SearchPath(env(map[string]string{"HOME": home, "XDG_DATA_HOME": "rel/data"}), WithExecutableDir(""))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("relative XDG_DATA_HOME: got %v, want %v", got, want)
	}
	// Nothing known: nothing searched.
	if got := SearchPath(env(nil), WithExecutableDir("")); len(got) != 0 {
		t.Errorf("empty environment: %v", got)
	}
	// The executable dir defaults to the folder of the running binary.
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	exe, _ = filepath.EvalSymlinks(exe)
	got = SearchPath(env(nil))
	if len(got) != 1 || got[0] != (Dir{filepath.Dir(exe), OriginBesideMmbuild}) {
		t.Errorf("default executable dir: %v, want %s", got, filepath.Dir(exe))
	}
}

func TestSearchPathRelativeAndDuplicates(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// The project dir "." is made absolute; a project dir that is also in
	// MMBUILD_PLUGIN_PATH is searched once, as "env".
	proj := filepath.Join(wd, ".mmbuild", "plugins")
	got := SearchPath(env(map[string]string{EnvPluginPath: proj}), WithProjectDir("."), WithExecutableDir(""))
	want := []Dir{{proj, OriginEnv}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// writeFile creates path (and its parents) with mode.
func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask
		t.Fatal(err)
	}
}

func TestScan(t *testing.T) {
	root := t.TempDir()
	a, b, c := Dir{filepath.Join(root, "a"), OriginEnv}, Dir{filepath.Join(root, "b"), OriginProject}, Dir{filepath.Join(root, "c"), OriginUser}
	missing := Dir{filepath.Join(root, "missing"), OriginUser}
	notDir := Dir{filepath.Join(root, "file"), OriginEnv}
	writeFile(t, notDir.Path, "", 0o644)

	exe := func(d Dir, name string) string {
		p := filepath.Join(d.Path, name)
		writeFile(t, p, "#!/bin/sh\n", 0o755)
		return p
	}
	exe(a, "mmbuild-plugin-make")
	exe(a, "mmbuild-plugin-make~")                                      // backup: not a valid name
	exe(a, "mmbuild-plugin-Make")                                       // upper case: skipped
	exe(a, "mmbuild-plugin-")                                           // empty name
	exe(a, "other-tool")                                                // not a plugin
	exe(a, "mmbuild-plugin-x.bak")                                      // a valid name: "x.bak"
	exe(a, "mmbuild-plugin-s3+fast-v2")                                 // valid
	writeFile(t, filepath.Join(b.Path, "mmbuild-plugin-s3"), "", 0o644) // not executable: does not shadow
	exe(b, "mmbuild-plugin-make")
	if err := os.MkdirAll(filepath.Join(b.Path, "mmbuild-plugin-dir"), 0o755); err != nil { // a directory: listed, does not shadow
		t.Fatal(err)
	}
	exe(c, "mmbuild-plugin-s3")
	exe(c, "mmbuild-plugin-make")
	exe(c, "mmbuild-plugin-dir")
	if err := os.Symlink(filepath.Join(c.Path, "mmbuild-plugin-s3"), filepath.Join(c.Path, "mmbuild-plugin-link")); err != nil {
		t.Fatal(err)
	}

	got, err := Scan([]Dir{missing, a, notDir, b, a, c})
	if err != nil {
		t.Fatal(err)
	}
	cand := func(d Dir, name, shadowedBy string) Candidate {
		return Candidate{Name: name, Path: filepath.Join(d.Path, "mmbuild-plugin-"+name), Dir: d, ShadowedBy: shadowedBy}
	}
	aMake := filepath.Join(a.Path, "mmbuild-plugin-make")
	cS3 := filepath.Join(c.Path, "mmbuild-plugin-s3")
	cDir := filepath.Join(c.Path, "mmbuild-plugin-dir")
	want := []Candidate{
		cand(a, "make", ""),
		cand(a, "s3+fast-v2", ""),
		cand(a, "x.bak", ""),
		cand(b, "dir", ""), // a directory never wins…
		cand(b, "make", aMake),
		cand(b, "s3", ""), // …nor does a non-executable file
		cand(c, "dir", ""),
		cand(c, "link", ""),
		cand(c, "make", aMake),
		cand(c, "s3", ""),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scan:\n got %+v\nwant %+v", got, want)
	}

	// Find agrees with Scan's winners.
	for _, tc := range []struct{ name, want string }{
		{"make", aMake}, {"s3", cS3}, {"dir", cDir}, {"link", filepath.Join(c.Path, "mmbuild-plugin-link")},
	} {
		got, err := Find([]Dir{missing, a, notDir, b, c}, tc.name)
		if err != nil {
			t.Errorf("Find(%s): %v", tc.name, err)
			continue
		}
		if got.Path != tc.want || got.Name != tc.name || got.ShadowedBy != "" {
			t.Errorf("Find(%s) = %+v, want path %s", tc.name, got, tc.want)
		}
	}
	if got, _ := Find([]Dir{a, b, c}, "make"); got.Dir != a {
		t.Errorf("Find(make).Dir = %v, want %v", got.Dir, a)
	}
}

func TestScanUnreadableDir(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root reads any directory")
	}
	root := t.TempDir()
	locked, open := Dir{filepath.Join(root, "locked"), OriginEnv}, Dir{filepath.Join(root, "open"), OriginUser}
	writeFile(t, filepath.Join(open.Path, "mmbuild-plugin-make"), "", 0o755)
	if err := os.Mkdir(locked.Path, 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked.Path, 0o755) })
	got, err := Scan([]Dir{locked, open})
	if err == nil || !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), locked.Path) {
		t.Errorf("error %v, want a permission error naming %s", err, locked.Path)
	}
	if len(got) != 1 || got[0].Name != "make" {
		t.Errorf("the readable directory's candidates are lost: %v", got)
	}
}

func TestFindNotFound(t *testing.T) {
	root := t.TempDir()
	a, b := Dir{filepath.Join(root, "a"), OriginEnv}, Dir{filepath.Join(root, "b"), OriginUser}
	writeFile(t, filepath.Join(b.Path, "mmbuild-plugin-s3"), "", 0o644)

	_, err := Find([]Dir{a, b}, "s3")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v does not match fs.ErrNotExist", err)
	}
	want := `plugin "s3" not found (searched: ` + a.Path + ", " + b.Path + "); skipped " + filepath.Join(b.Path, "mmbuild-plugin-s3") + ": not an executable file"
	if err.Error() != want {
		t.Errorf("error:\n %s\nwant\n %s", err, want)
	}
	_, err = Find([]Dir{a}, "git")
	if want := `plugin "git" not found (searched: ` + a.Path + ")"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if _, err = Find(nil, "git"); err == nil || !strings.Contains(err.Error(), "no plugin directories") {
		t.Errorf("error %v with no directories", err)
	}
	if _, err := Find([]Dir{a}, "../x"); err == nil || !strings.Contains(err.Error(), "invalid plugin name") {
		t.Errorf("Find(../x): %v", err)
	}
}

func TestSHA256(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	writeFile(t, p, "abc", 0o644)
	got, err := SHA256(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("SHA256 = %s, want %s", got, want)
	}
	if _, err := SHA256(p + "-missing"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), p+"-missing") {
		t.Errorf("missing file: %v", err)
	}
}
