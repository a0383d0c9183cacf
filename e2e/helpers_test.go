package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// writeFiles writes files (relative path → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// project writes a small make project with one material whose digest is
// given, and returns its folder.
func project(t *testing.T, materialDigest string, extraYAML string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "proj")
	writeFiles(t, dir, map[string]string{
		"input/data.txt": "material data\n",
		"Makefile": `all:
	@mkdir -p dist
	@echo ran > builder-ran
	cp $(MMBUILD_MATERIALS_DIR)/data.txt dist/data.out
long:
	@echo started > long-started
	sleep 7777
`,
		"mmbuild.yaml": `handler:
  id: make
  params: ["all"]
materials:
  - uri: file://${PWD}/input/data.txt
    digest: {sha256: ` + materialDigest + `}
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
` + extraYAML,
	})
	return dir
}

// lockedProject is project() with the right digest and the plugins pinned.
func lockedProject(t *testing.T, in *testenv.Install, extraYAML string) string {
	t.Helper()
	dir := project(t, realDataDigest(t), extraYAML)
	in.MustRun(dir, "plugins", "lock")
	return dir
}

func realDataDigest(t *testing.T) string {
	t.Helper()
	return sha256Hex(t, []byte("material data\n"))
}

// errorLine returns the single "mmbuild: " error line of stderr, failing
// the test when there is not exactly one, or when stderr shows a panic.
func errorLine(t *testing.T, r testenv.Result) string {
	t.Helper()
	if strings.Contains(r.Stderr, "goroutine ") || strings.Contains(r.Stderr, "panic:") && !strings.Contains(r.Stderr, "crashed: panic:") {
		t.Fatalf("stderr shows a raw panic:\n%s", r.Stderr)
	}
	var lines []string
	for _, l := range strings.Split(r.Stderr, "\n") {
		if strings.HasPrefix(l, "mmbuild: ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("want exactly one error line, got %d:\n%s", len(lines), r.Stderr)
	}
	return lines[0]
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// assertNothingPublished fails if the project's destination or provenance
// folder holds anything.
func assertNothingPublished(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"published", "out"} {
		entries, _ := os.ReadDir(filepath.Join(dir, d))
		if len(entries) > 0 {
			t.Errorf("%s/ holds %d entries after a failed run", d, len(entries))
		}
	}
	if exists(filepath.Join(dir, "build.env")) {
		t.Error("build.env written after a failed run")
	}
}
