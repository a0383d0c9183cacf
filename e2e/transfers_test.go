package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

const transferMakefile = `all:
	@mkdir -p dist
	@echo ran >> builder-ran
	printf 'binary\000payload' > dist/a.bin
	echo data > dist/data.out
`

func transferProject(t *testing.T, in *testenv.Install, destination string) string {
	t.Helper()
	dir := engineProject(t, map[string]string{
		"Makefile": transferMakefile,
		"blocker":  "a regular file where a folder is wanted\n",
		"mmbuild.yaml": `handler:
  id: make
  params: ["all"]
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
transfers:
  - source: [dist/a.bin]
    destination: ` + destination + `
provenance: out/
`,
	})
	engineMustRun(t, in, dir, "plugins", "lock")
	return dir
}

func TestTransfers(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := transferProject(t, in, "file://${PWD}/rel/")
	rep, _ := engineRunJSON(t, in, dir)

	want := mustRead(t, filepath.Join(dir, "dist/a.bin"))
	if got, err := os.ReadFile(filepath.Join(dir, "rel/a.bin")); err != nil || string(got) != string(want) {
		t.Fatalf("rel/a.bin = %q (%v), want %q", got, err, want)
	}
	st := engineReadStatement(t, filepath.Join(dir, "out/provenance.json"))
	if d, ok := st.subject("a.bin"); !ok || d["sha256"] != sha256Hex(t, want) || len(d["sha512"]) != 128 {
		t.Errorf("the transferred file is not a subject with its digests: %+v", st.Subject)
	}
	if d, ok := st.subject("data.out"); !ok || d["sha256"] != sha256Hex(t, []byte("data\n")) {
		t.Errorf("the artifact is not a subject: %+v", st.Subject)
	}
	// Where the transfer went is recorded (the cache verifies it there).
	if got := fmt.Sprint(st.Predicate.BuildConfig["transfers"]); got != "[map[destination:file://"+filepath.Join(dir, "rel")+"/ files:[a.bin]]]" {
		t.Errorf("buildConfig.transfers = %s", got)
	}
	staging := engineFilePath(t, rep.StagingURL)
	entries, _ := os.ReadDir(staging)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "data.out provenance.json" {
		t.Errorf("staging folder holds %v, want the artifact and the attestation", names)
	}
}

// A transfer that cannot be written fails the run after the artifacts were
// uploaded: the attestation, uploaded last, is not at the destination, so
// the partial upload never looks like a complete build.
func TestTransferFailureWithholdsAttestation(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := transferProject(t, in, "file://${PWD}/blocker/rel/")
	engineMustFail(t, in, dir, []string{"run"}, "transferring a.bin", "blocker/rel/a.bin")
	if !exists(filepath.Join(dir, "builder-ran")) {
		t.Fatal("the builder did not run: the failure is not the transfer's")
	}
	if hits := engineFilesNamed(t, filepath.Join(dir, "published"), "provenance.json"); len(hits) > 0 {
		t.Errorf("an attestation was published despite the failed transfer: %v", hits)
	}
	if exists(filepath.Join(dir, "build.env")) {
		t.Error("build.env written after a failed run")
	}
	// The cache never takes the partial upload for a build.
	if err := os.Remove(filepath.Join(dir, "blocker")); err != nil {
		t.Fatal(err)
	}
	rep, _ := engineRunJSON(t, in, dir)
	if rep.Cached || engineLines(t, filepath.Join(dir, "builder-ran")) != 2 {
		t.Error("the run after the failed one did not build")
	}
}

// A run that fails while publishing leaves no local attestation either:
// out/provenance.json of a run that failed would be evidence of a build
// that was never published (and after an earlier success, a stale one would
// stay there, which is also why it must only be written on success).
func TestFailedPublishLeavesNoLocalAttestation(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := transferProject(t, in, "file://${PWD}/blocker/rel/")
	r := in.Run(dir, "run")
	if r.Code == 0 {
		t.Fatal("the run succeeded")
	}
	if exists(filepath.Join(dir, "out", "provenance.json")) {
		t.Error("out/provenance.json written by a run that failed to publish")
	}
}

func TestTransferSourceMatchesNothing(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := transferProject(t, in, "file://${PWD}/rel/")
	cfg := filepath.Join(dir, "mmbuild.yaml")
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(mustRead(t, cfg)), "dist/a.bin", "dist/missing.bin", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	engineMustFail(t, in, dir, []string{"run"}, "mmbuild.yaml:", "transfers[0].source[0]", "dist/missing.bin", "matched no file")
	assertNothingPublished(t, dir)
	if exists(filepath.Join(dir, "rel")) {
		t.Error("transfer destination written")
	}
}

// engineFilesNamed lists the files called name under root.
func engineFilesNamed(t *testing.T, root, name string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() == name {
			out = append(out, p)
		}
		return nil
	})
	return out
}
