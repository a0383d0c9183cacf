package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

const initMakefile = `.PHONY: build clean
build:
	@mkdir -p dist
	echo built > dist/app.txt
clean:
	rm -rf dist
`

// mmbuild init on a plain make project: the config it writes validates and
// runs as it is, the plugins are pinned, the next commands are printed, and
// an existing config is kept unless --force.
func TestInit(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir := engineProject(t, map[string]string{"Makefile": initMakefile})
	r := engineMustRun(t, in, dir, "init")
	for _, w := range []string{"wrote " + filepath.Join(dir, "mmbuild.lock.hcl"), "wrote mmbuild.yaml (make build)",
		"mmbuild validate", "mmbuild run", "git add mmbuild.yaml mmbuild.lock.hcl"} {
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("init's output lacks %q:\n%s", w, r.Stdout)
		}
	}
	cfg := string(mustRead(t, filepath.Join(dir, "mmbuild.yaml")))
	if !strings.Contains(cfg, `params: ["build"]`) || !strings.Contains(cfg, "# targets in Makefile: build, clean") {
		t.Errorf("mmbuild.yaml:\n%s", cfg)
	}
	engineMustRun(t, in, dir, "validate")
	engineMustRun(t, in, dir, "plugins", "list", "--strict")
	rep, _ := engineRunJSON(t, in, dir)
	if len(rep.Artifacts) != 1 || rep.Artifacts[0].Name != "app.txt" {
		t.Fatalf("run of the starter config: %+v", rep)
	}
	if got := string(mustRead(t, filepath.Join(dir, "out", "published", rep.StagingKey, "app.txt"))); got != "built\n" {
		t.Errorf("published app.txt = %q", got)
	}
	engineReadStatement(t, filepath.Join(dir, "out", "provenance.json"))

	// An existing config is not replaced...
	edited := cfg + "# my edit\n"
	writeFiles(t, dir, map[string]string{"mmbuild.yaml": edited})
	engineMustFail(t, in, dir, []string{"init"}, "mmbuild.yaml exists", "--force")
	if string(mustRead(t, filepath.Join(dir, "mmbuild.yaml"))) != edited {
		t.Error("init replaced an existing config")
	}
	// ...unless --force; --target picks the target.
	engineMustRun(t, in, dir, "init", "--force", "--target", "clean")
	if cfg := string(mustRead(t, filepath.Join(dir, "mmbuild.yaml"))); !strings.Contains(cfg, `params: ["clean"]`) {
		t.Errorf("init --force --target clean wrote:\n%s", cfg)
	}

	// A legacy config counts too, and a folder without a Makefile is refused.
	legacy := engineProject(t, map[string]string{"Makefile": initMakefile, "matterbuild.yaml": legacyConfig})
	engineMustFail(t, in, legacy, []string{"init"}, "matterbuild.yaml exists")
	empty := t.TempDir()
	engineMustFail(t, in, empty, []string{"init"}, "no Makefile in")
	if entries, _ := os.ReadDir(empty); len(entries) > 0 {
		t.Errorf("init wrote %d files into a folder without a Makefile", len(entries))
	}
}

// The first week: a new project (a git repository that ignores what make
// builds) runs mmbuild init, commits what init wrote as it says, and runs
// twice. init git-ignores what mmbuild writes into the work tree (out/,
// build.env), so the first run leaves the tree clean and the second is a
// cache hit.
func TestInitThenTheSecondRunIsACacheHit(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := engineProject(t, map[string]string{"Makefile": initMakefile, ".gitignore": "dist/\n"})
	engineCommitAll(t, dir, "a new project")
	r := engineMustRun(t, in, dir, "init")
	if !strings.Contains(r.Stdout, "added /out/ /build.env to .gitignore") {
		t.Errorf("init does not say what it git-ignored:\n%s", r.Stdout)
	}
	if got := string(mustRead(t, filepath.Join(dir, ".gitignore"))); !strings.HasPrefix(got, "dist/\n") {
		t.Errorf("init lost the project's own .gitignore lines:\n%s", got)
	}
	engineCommitAll(t, dir, "mmbuild init")

	first, _ := engineRunJSON(t, in, dir)
	if first.Cached {
		t.Fatal("the first run was a cache hit")
	}
	if st := engineGit(t, dir, "status", "--porcelain"); st != "" {
		t.Errorf("the first run left the work tree dirty:\n%s", st)
	}
	second, r := engineRunJSON(t, in, dir)
	if !second.Cached || second.StagingKey != first.StagingKey {
		t.Fatalf("the second run is not a cache hit (key %s, first %s):\n%s", second.StagingKey, first.StagingKey, r.Stderr)
	}
}
