package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// cacheProject is a clean git work tree: a make build with one material,
// the lock file committed, the build's outputs ignored.
func cacheProject(t *testing.T, in *testenv.Install) string {
	t.Helper()
	dir := engineProject(t, map[string]string{
		".gitignore":     "/dist/\n/out/\n/published/\n/build.env\n/builder-ran\n",
		"input/data.txt": "material data\n",
		"Makefile": `all:
	@mkdir -p dist
	@echo ran >> builder-ran
	cp $(MMBUILD_MATERIALS_DIR)/data.txt dist/data.out
`,
		"mmbuild.yaml": `handler:
  id: make
  params: ["all"]
materials:
  - uri: file://${PWD}/input/data.txt
    digest: {sha256: ` + realDataDigest(t) + `}
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
`,
	})
	engineMustRun(t, in, dir, "plugins", "lock")
	engineCommitAll(t, dir, "initial")
	return dir
}

func TestBuildCache(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir := cacheProject(t, in)
	ran := func() int { return engineLines(t, filepath.Join(dir, "builder-ran")) }
	envFile := filepath.Join(dir, "build.env")

	first, _ := engineRunJSON(t, in, dir)
	if first.Cached || ran() != 1 {
		t.Fatalf("first run: cached %v, builder ran %d times", first.Cached, ran())
	}
	st := engineReadStatement(t, filepath.Join(dir, "out/provenance.json"))
	if st.Predicate.BuildConfig["cacheable"] != true || !st.Predicate.Metadata.Completeness.Materials {
		t.Errorf("a clean git build is not recorded as cacheable/complete: %v %+v", st.Predicate.BuildConfig, st.Predicate.Metadata)
	}
	firstEnv := string(mustRead(t, envFile))
	firstStatement := string(mustRead(t, filepath.Join(dir, "out/provenance.json")))
	if !strings.Contains(firstEnv, "MMBUILD_STAGING_URL="+first.StagingURL+"\n") {
		t.Fatalf("build.env:\n%s", firstEnv)
	}

	t.Run("identical run is cached", func(t *testing.T) {
		for _, p := range []string{envFile, filepath.Join(dir, "out/provenance.json")} {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		rep, r := engineRunJSON(t, in, dir)
		if !rep.Cached {
			t.Fatalf("second identical run not cached:\n%s", r.Stderr)
		}
		if ran() != 1 {
			t.Error("make ran for a cached build")
		}
		if rep.StagingKey != first.StagingKey || rep.StagingURL != first.StagingURL {
			t.Errorf("staging %s %s, first run %s %s", rep.StagingKey, rep.StagingURL, first.StagingKey, first.StagingURL)
		}
		if len(rep.Artifacts) != 1 || rep.Artifacts[0].SHA256 != first.Artifacts[0].SHA256 || rep.Artifacts[0].URL != first.Artifacts[0].URL {
			t.Errorf("cached artifacts %+v, first run %+v", rep.Artifacts, first.Artifacts)
		}
		if got := string(mustRead(t, envFile)); got != firstEnv {
			t.Errorf("build.env of the cached run:\n%s\nfirst run:\n%s", got, firstEnv)
		}
		if got := string(mustRead(t, filepath.Join(dir, "out/provenance.json"))); got != firstStatement {
			t.Error("the local attestation of the cached run is not the published one")
		}
	})

	// A hit needs the store only: the handler's plugin, and its box, are
	// not started (each plugin process logs its address at debug level,
	// under its name).
	t.Run("a cache hit starts no handler", func(t *testing.T) {
		rep, r := engineRunJSON(t, in, dir, "--log-level", "debug")
		if !rep.Cached {
			t.Fatalf("not cached:\n%s", r.Stderr)
		}
		if !strings.Contains(r.Stderr, "mmbuild.plugin.file: plugin address") {
			t.Fatalf("the file store's start is not logged, so the check below proves nothing:\n%s", r.Stderr)
		}
		if strings.Contains(r.Stderr, "mmbuild.plugin.make:") {
			t.Errorf("a cache hit started the make handler:\n%s", r.Stderr)
		}
	})

	t.Run("--force rebuilds", func(t *testing.T) {
		rep, _ := engineRunJSON(t, in, dir, "--force")
		if rep.Cached || ran() != 2 {
			t.Fatalf("--force: cached %v, builder ran %d times", rep.Cached, ran())
		}
		if rep.StagingKey != first.StagingKey {
			t.Errorf("--force changed the staging key: %s, first %s", rep.StagingKey, first.StagingKey)
		}
		r := engineMustRun(t, in, dir, "build", "-f") // the original CLI's force flag
		if ran() != 3 || strings.Contains(r.Stderr, "cached build reused") {
			t.Errorf("build -f did not rebuild (builder ran %d times)", ran())
		}
	})

	t.Run("tampered cached artifact rebuilds", func(t *testing.T) {
		before := ran()
		published := filepath.Join(engineFilePath(t, first.StagingURL), "data.out")
		if err := os.WriteFile(published, []byte("tampered\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		rep, r := engineRunJSON(t, in, dir)
		if rep.Cached || ran() != before+1 {
			t.Fatalf("tampered cache: cached %v, builder ran %d more times\n%s", rep.Cached, ran()-before, r.Stderr)
		}
		if !strings.Contains(r.Stderr, "does not match its attestation") {
			t.Errorf("no warning about the tampered artifact:\n%s", r.Stderr)
		}
		if got := sha256Hex(t, mustRead(t, published)); got != first.Artifacts[0].SHA256 {
			t.Errorf("published artifact not restored: sha256 %s, want %s", got, first.Artifacts[0].SHA256)
		}
		if rep, _ := engineRunJSON(t, in, dir); !rep.Cached {
			t.Error("the repaired build is not cached")
		}
	})

	t.Run("cached attestation naming a path rebuilds", func(t *testing.T) {
		before := ran()
		stmtPath := filepath.Join(engineFilePath(t, first.StagingURL), "provenance.json")
		evil := strings.Replace(string(mustRead(t, stmtPath)), `"name": "data.out"`, `"name": "../../data.out"`, 1)
		if !strings.Contains(evil, "../../data.out") {
			t.Fatal("could not rewrite the subject name")
		}
		if err := os.WriteFile(stmtPath, []byte(evil), 0o644); err != nil {
			t.Fatal(err)
		}
		rep, r := engineRunJSON(t, in, dir)
		if rep.Cached || ran() != before+1 {
			t.Fatalf("cached: %v, builder ran %d more times\n%s", rep.Cached, ran()-before, r.Stderr)
		}
		if !strings.Contains(r.Stderr, "invalid subject name") {
			t.Errorf("no warning about the subject name:\n%s", r.Stderr)
		}
		if strings.Contains(string(mustRead(t, stmtPath)), "../") {
			t.Error("the rebuild did not replace the bad attestation")
		}
	})

	t.Run("changed material changes the key", func(t *testing.T) {
		before := ran()
		newData := []byte("material data, version 2\n")
		if err := os.WriteFile(filepath.Join(dir, "input/data.txt"), newData, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "mmbuild.yaml")
		data := strings.Replace(string(mustRead(t, cfg)), realDataDigest(t), sha256Hex(t, newData), 1)
		if err := os.WriteFile(cfg, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		engineCommitAll(t, dir, "material v2")
		rep, _ := engineRunJSON(t, in, dir)
		if rep.Cached || ran() != before+1 {
			t.Fatalf("changed material: cached %v, builder ran %d more times", rep.Cached, ran()-before)
		}
		if rep.StagingKey == first.StagingKey {
			t.Error("a changed material kept the staging key")
		}
		if got := string(mustRead(t, filepath.Join(engineFilePath(t, rep.StagingURL), "data.out"))); got != string(newData) {
			t.Errorf("published %q", got)
		}
		if again, _ := engineRunJSON(t, in, dir); !again.Cached || again.StagingKey != rep.StagingKey || ran() != before+1 {
			t.Errorf("the new build is not cached: %+v", again)
		}
	})

	t.Run("dirty tree is never cached", func(t *testing.T) {
		before := ran()
		f, err := os.OpenFile(filepath.Join(dir, "Makefile"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString("# an uncommitted change\n")
		f.Close()
		a, ra := engineRunJSON(t, in, dir)
		b, _ := engineRunJSON(t, in, dir)
		if a.Cached || b.Cached || ran() != before+2 {
			t.Fatalf("dirty tree: cached %v/%v, builder ran %d more times", a.Cached, b.Cached, ran()-before)
		}
		if a.StagingKey == b.StagingKey {
			t.Error("two dirty builds share a staging key")
		}
		if !strings.Contains(ra.Stderr, "uncommitted changes") {
			t.Errorf("no warning about the dirty tree:\n%s", ra.Stderr)
		}
		st := engineReadStatement(t, filepath.Join(dir, "out/provenance.json"))
		if st.Predicate.BuildConfig["cacheable"] != false || st.Predicate.BuildConfig["sourceDirty"] != true || st.Predicate.Metadata.Completeness.Materials {
			t.Errorf("dirty build recorded as %v %+v", st.Predicate.BuildConfig, st.Predicate.Metadata)
		}
	})
}

// The staging key covers every input of a build: a value the builder gets
// from the running environment is one. A build whose environment differs
// must not be served the artifacts of another.
func TestBuildCacheKeyCoversEnvironment(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := engineProject(t, map[string]string{
		".gitignore": "/dist/\n/out/\n/published/\n/build.env\n/builder-ran\n",
		"Makefile": `all:
	@mkdir -p dist
	@echo ran >> builder-ran
	echo "build $$BUILD_NUMBER" > dist/version.out
`,
		"mmbuild.yaml": `handler:
  id: make
  params: ["all"]
env:
  - var: BUILD_NUMBER
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
`,
	})
	engineMustRun(t, in, dir, "plugins", "lock")
	engineCommitAll(t, dir, "initial")
	base := in.Env

	in.Env = append(base[:len(base):len(base)], "BUILD_NUMBER=1")
	one, _ := engineRunJSON(t, in, dir)
	if again, _ := engineRunJSON(t, in, dir); !again.Cached {
		t.Fatal("an identical run (same environment) is not cached: the check below would prove nothing")
	}

	in.Env = append(base[:len(base):len(base)], "BUILD_NUMBER=2")
	two, r := engineRunJSON(t, in, dir)
	if two.Cached {
		t.Errorf("BUILD_NUMBER=2 was served the cached build of BUILD_NUMBER=1 (staging key %s): the staging key ignores the builder's environment\n%s", two.StagingKey, r.Stderr)
	}
	if two.StagingKey == one.StagingKey {
		t.Errorf("builds with different environments share the staging key %s", one.StagingKey)
	}
	if got := string(mustRead(t, filepath.Join(engineFilePath(t, two.StagingURL), "version.out"))); got != "build 2\n" {
		t.Errorf("the artifact published for BUILD_NUMBER=2 says %q", got)
	}
}

// A build with transfers is cached like any other: the transferred files
// are subjects of the attestation, verified where they were transferred
// to; and the cached run hands the next build exactly what the first did.
func TestBuildCacheWithTransfers(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := engineProject(t, map[string]string{
		".gitignore": "/dist/\n/out/\n/published/\n/rel/\n/build.env\n/builder-ran\n",
		"Makefile":   transferMakefile,
		"mmbuild.yaml": `handler:
  id: make
  params: ["all"]
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
transfers:
  - source: [dist/a.bin]
    destination: file://${PWD}/rel/
provenance: out/
`,
	})
	engineMustRun(t, in, dir, "plugins", "lock")
	engineCommitAll(t, dir, "initial")
	ran := func() int { return engineLines(t, filepath.Join(dir, "builder-ran")) }

	first, _ := engineRunJSON(t, in, dir)
	firstEnv := string(mustRead(t, filepath.Join(dir, "build.env")))
	second, r := engineRunJSON(t, in, dir)
	if !second.Cached || ran() != 1 {
		t.Fatalf("second identical run with a transfer: cached %v, builder ran %d times\n%s", second.Cached, ran(), r.Stderr)
	}
	if got := string(mustRead(t, filepath.Join(dir, "build.env"))); got != firstEnv {
		t.Errorf("build.env of the cached run:\n%s\nfirst run:\n%s", got, firstEnv)
	}
	if len(second.Artifacts) != len(first.Artifacts) {
		t.Errorf("cached run reports artifacts %+v, first run %+v", second.Artifacts, first.Artifacts)
	}

	// A tampered transferred file is not a complete build.
	if err := os.WriteFile(filepath.Join(dir, "rel/a.bin"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	third, r := engineRunJSON(t, in, dir)
	if third.Cached || ran() != 2 {
		t.Fatalf("tampered transfer: cached %v, builder ran %d times\n%s", third.Cached, ran(), r.Stderr)
	}
	if got := mustRead(t, filepath.Join(dir, "rel/a.bin")); string(got) != "binary\x00payload" {
		t.Errorf("transferred file not restored: %q", got)
	}
}

// Where the kernel refuses bubblewrap's box, auto builds in a weaker one
// and the staging key covers that box. A run looks the cache up before it
// starts its handler, with the key of the box it expects (bubblewrap's),
// misses, starts the handler in the box it gets and looks the cache up
// again with that box's key: the build is still a hit. A run in the full
// box is never answered by the build made in the weaker one.
func TestCacheHitWhereTheKernelRefusesTheBox(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir := cacheProject(t, in)
	wrapper := buildNoNamespaces(t)
	ran := func() int { return engineLines(t, filepath.Join(dir, "builder-ran")) }

	if r := wrappedRun(t, in, wrapper, dir, "run"); r.Code != 0 || ran() != 1 {
		t.Fatalf("first run: exit %d, builder ran %d times:\n%s", r.Code, ran(), r.Stderr)
	}
	prov := strings.ReplaceAll(string(mustRead(t, filepath.Join(dir, "out", "provenance.json"))), " ", "")
	if !strings.Contains(prov, `"mechanism":"landlock"`) {
		t.Fatalf("the first build did not run in the weaker box, so the check below proves nothing:\n%s", prov)
	}
	r := wrappedRun(t, in, wrapper, dir, "run")
	if r.Code != 0 || ran() != 1 || !strings.Contains(r.Stderr, "cached build reused") {
		t.Fatalf("second run: exit %d, builder ran %d times, want a cache hit:\n%s", r.Code, ran(), r.Stderr)
	}
	rep, r := engineRunJSON(t, in, dir)
	if rep.Cached || ran() != 2 {
		t.Fatalf("a run in bubblewrap's box: cached %v, builder ran %d times, want a rebuild:\n%s", rep.Cached, ran(), r.Stderr)
	}
}
