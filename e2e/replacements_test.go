package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

const replacementMakefile = `all:
	@mkdir -p dist
	@echo ran >> builder-ran
	./tool.sh > dist/tool.out
	cp data.bin dist/data.out
`

func TestReplacementsByteExactKeepMode(t *testing.T) {
	in := testenv.NewInstall(t)
	data := []byte("A%V%B\x00\xff\r\n%V%%V\n\t%V%")
	dir := engineProject(t, map[string]string{
		"Makefile":         replacementMakefile,
		"tool.sh#755":      "#!/bin/sh\necho 'version %V% of %NAME%'\n",
		"data.bin":         string(data),
		"sub/dir/conf.txt": "name=%NAME%\nversion=%V%\n",
		"mmbuild.yaml": `handler:
  id: make
  params: ["all"]
replacements:
  - paths: [tool.sh, data.bin, sub/dir/conf.txt, not-there.txt]
    tag: "%V%"
    value: "1.2.3 ü $x"
    required: true
  - paths: [sub/dir/conf.txt, tool.sh]
    tag: "%NAME%"
    value: "mm"
    required: true
    requiredPaths: true
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
`,
	})
	if err := os.Chmod(filepath.Join(dir, "sub/dir/conf.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	engineMustRun(t, in, dir, "plugins", "lock")
	engineMustRun(t, in, dir, "run")

	want := bytes.ReplaceAll(data, []byte("%V%"), []byte("1.2.3 ü $x"))
	if got := mustRead(t, filepath.Join(dir, "data.bin")); !bytes.Equal(got, want) {
		t.Errorf("data.bin = %q, want %q", got, want)
	}
	if got := string(mustRead(t, filepath.Join(dir, "dist/tool.out"))); got != "version 1.2.3 ü $x of mm\n" {
		t.Errorf("the replaced script printed %q", got)
	}
	if got := string(mustRead(t, filepath.Join(dir, "sub/dir/conf.txt"))); got != "name=mm\nversion=1.2.3 ü $x\n" {
		t.Errorf("conf.txt = %q", got)
	}
	for rel, mode := range map[string]os.FileMode{"tool.sh": 0o755, "sub/dir/conf.txt": 0o600, "data.bin": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v after replacement, want %v", rel, fi.Mode().Perm(), mode)
		}
	}
	if exists(filepath.Join(dir, "not-there.txt")) {
		t.Error("a missing optional path was created")
	}
	// No temporary files left beside the replaced ones.
	for _, d := range []string{dir, filepath.Join(dir, "sub/dir")} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if name := e.Name(); name[0] == '.' {
				t.Errorf("leftover %s in %s", name, d)
			}
		}
	}
}

// A refused replacement stops the run before the builder, and leaves every
// file as it was: also those an earlier replacement would have changed.
func TestReplacementErrors(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		rep   string
		want  []string
	}{
		{
			name: "dot-dot path",
			rep: `  - paths: ["../outside.txt"]
    tag: "%V%"
    value: pwned
`,
			want: []string{"mmbuild.yaml:11:13: ", "replacements[1].paths[0]", "../outside.txt", "leaves the work tree"},
		},
		{
			name: "absolute path",
			rep: `  - paths: ["${OUTSIDE}"]
    tag: "%V%"
    value: pwned
`,
			want: []string{"mmbuild.yaml:11:13: ", "replacements[1].paths[0]", "outside.txt", "is absolute"},
		},
		{
			name: "symlinked file",
			setup: func(t *testing.T, dir string) {
				if err := os.Symlink("../outside.txt", filepath.Join(dir, "link.txt")); err != nil {
					t.Fatal(err)
				}
			},
			rep: `  - paths: ["link.txt"]
    tag: "%V%"
    value: pwned
`,
			want: []string{"replacements[1]", "link.txt", "escapes"},
		},
		{
			name: "symlinked folder",
			setup: func(t *testing.T, dir string) {
				if err := os.Symlink("..", filepath.Join(dir, "up")); err != nil {
					t.Fatal(err)
				}
			},
			rep: `  - paths: ["up/outside.txt"]
    tag: "%V%"
    value: pwned
`,
			want: []string{"replacements[1]", "up/outside.txt", "escapes"},
		},
		{
			name: "required tag absent",
			rep: `  - paths: ["inside.txt"]
    tag: "%NOT_THERE%"
    value: x
    required: true
`,
			want: []string{"mmbuild.yaml:", "replacements[1]", `"%NOT_THERE%"`, "not found", "required"},
		},
		{
			name: "required path missing",
			rep: `  - paths: ["inside.txt", "missing.txt"]
    tag: "%V%"
    value: x
    requiredPaths: true
`,
			want: []string{"mmbuild.yaml:", "replacements[1]", "missing.txt", "does not exist", "requiredPaths"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := engineProject(t, map[string]string{
				"Makefile":   replacementMakefile,
				"inside.txt": "v=%V%\n",
			})
			outside := filepath.Join(filepath.Dir(dir), "outside.txt")
			if err := os.WriteFile(outside, []byte("v=%V%\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, dir, map[string]string{"mmbuild.yaml": `handler:
  id: make
  params: ["all"]
env:
  - var: OUTSIDE
    value: ` + outside + `
replacements:
  - paths: ["inside.txt"]
    tag: "%V%"
    value: applied-too-early
` + tt.rep + `artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
`})
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			engineMustRun(t, in, dir, "plugins", "lock")
			engineMustFail(t, in, dir, []string{"run"}, tt.want...)
			if got := string(mustRead(t, outside)); got != "v=%V%\n" {
				t.Errorf("a file outside the work tree was changed: %q", got)
			}
			if got := string(mustRead(t, filepath.Join(dir, "inside.txt"))); got != "v=%V%\n" {
				t.Errorf("inside.txt was changed by a run that failed: %q", got)
			}
			if exists(filepath.Join(dir, "builder-ran")) {
				t.Error("the builder ran")
			}
			assertNothingPublished(t, dir)
		})
	}
}
