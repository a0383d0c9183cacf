package starter_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/run"
	"github.com/mmbuild/mmbuild/core/build/starter"
)

func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		name, makefile string
		targets        []string
		goal           string
	}{
		{"first target is the goal", "CC ?= cc\nX := 1\nY ::= 2\nZ = a:b\n.PHONY: dist clean\n\ndist: hello\n\tmkdir -p dist\nhello.o: hello.c\n%.o: %.c\n\t$(CC) -c $<\nclean:\n\trm -rf dist\n",
			[]string{"dist", "hello.o", "clean"}, "dist"},
		{".DEFAULT_GOAL wins", "all: build\nbuild package:: x\n.DEFAULT_GOAL := package\n$(BIN): main.c\n", []string{"all", "build", "package"}, "package"},
		{"recipe lines are not rules", "compile:\n\techo a: b\n\tcp x y\n", []string{"compile"}, "compile"},
		{"no rules", "# nothing\nX = 1\ninclude other.mk\n", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			targets, goal := starter.Targets([]byte(tc.makefile))
			if !slices.Equal(targets, tc.targets) || goal != tc.goal {
				t.Errorf("Targets = %q, %q; want %q, %q", targets, goal, tc.targets, tc.goal)
			}
		})
	}
}

// The starter config is a valid config: it loads strictly and passes the
// checks run makes before any plugin is started.
func TestConfigIsValid(t *testing.T) {
	for _, target := range []string{"dist", ""} {
		data := starter.Config("Makefile", target, []string{"dist", "clean"})
		path := filepath.Join(t.TempDir(), config.FileName)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.LoadFile(path, func(k string) (string, bool) {
			if k == "PWD" {
				return "/work/app", true
			}
			return "", false
		})
		if err != nil {
			t.Fatalf("target %q: %v\n%s", target, err, data)
		}
		if err := run.CheckConfig(cfg); err != nil {
			t.Fatalf("target %q: %v", target, err)
		}
		if want := []string{target}; target != "" && !slices.Equal(cfg.Handler.Params, want) || target == "" && len(cfg.Handler.Params) != 0 {
			t.Errorf("target %q: params %q", target, cfg.Handler.Params)
		}
		if cfg.Handler.ID != "make" || cfg.Artifacts.Destination != "file:///work/app/out/published/" || cfg.Provenance != "out/" {
			t.Errorf("target %q: %+v", target, cfg)
		}
		if !strings.Contains(string(data), "# targets in Makefile: dist, clean") {
			t.Errorf("the config does not list the Makefile's targets:\n%s", data)
		}
	}
}

func TestGitIgnore(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		added          []string
	}{
		{"none", "", "# written by mmbuild run (mmbuild init added these)\n/out/\n/build.env\n", starter.Ignored},
		{"kept, no final newline", "dist/", "dist/\n# written by mmbuild run (mmbuild init added these)\n/out/\n/build.env\n", starter.Ignored},
		{"one there", "out\n", "out\n# written by mmbuild run (mmbuild init added these)\n/build.env\n", []string{"/build.env"}},
		{"both there", "/out/\nbuild.env\n", "/out/\nbuild.env\n", nil},
	} {
		got, added := starter.GitIgnore([]byte(tc.in))
		if string(got) != tc.want || !slices.Equal(added, tc.added) {
			t.Errorf("%s: GitIgnore(%q) = %q, %v; want %q, %v", tc.name, tc.in, got, added, tc.want, tc.added)
		}
	}
}
