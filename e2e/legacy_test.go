package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	spdxjson "github.com/spdx/tools-golang/json"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// A matterbuild.yaml of the original Mattermost build system, unchanged.
const legacyConfig = `runner:
  id: make
  params:
    - package
provenance: provenance/
sbom: false
secrets:
  - name: MMBUILD_E2E_LEGACY_TOKEN
env:
  - var: GOOS
    value: linux
  - var: BUILD_NUMBER
  - var: TOKEN
    valueFrom:
      secret: MMBUILD_E2E_LEGACY_TOKEN
replacements:
  - paths:
      - version.txt
    tag: "%BUILD_HASH%"
    valueFrom:
      env: CI_COMMIT_SHA
    required: true
    requiredPaths: true
  - paths: [config.txt, optional-missing.txt]
    tag: "%CHANNEL%"
    value: stable
    required: false
    requiredPaths: false
artifacts:
  destination: file://${PWD}/published/
  files:
    - dist/*.txt
  images: []
`

const legacyMakefile = `package:
	@mkdir -p dist
	@echo ran >> builder-ran
	cp version.txt config.txt dist/
	echo "$$GOOS $$BUILD_NUMBER" > dist/env.txt
	@printf %s "$$TOKEN" | sha256sum | cut -d' ' -f1 > dist/token-sha.txt
`

const legacyToken = "legacy-token-0123456789"

func legacyProject(t *testing.T, in *testenv.Install, config string) string {
	t.Helper()
	dir := engineProject(t, map[string]string{
		"matterbuild.yaml": config,
		"Makefile":         legacyMakefile,
		"version.txt":      "hash=%BUILD_HASH%\n",
		"config.txt":       "channel=%CHANNEL%\n",
	})
	engineMustRun(t, in, dir, "plugins", "lock")
	return dir
}

func TestLegacyMatterbuildYAML(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	in.Env = append(in.Env,
		"MMBUILD_E2E_LEGACY_TOKEN="+legacyToken,
		"BUILD_NUMBER=42",
		"CI_COMMIT_SHA=0123abcd",
	)
	for _, args := range [][]string{
		{"build", "--conf", "matterbuild.yaml", "-f"}, // the original CLI
		{"run"}, // matterbuild.yaml found without mmbuild.yaml
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := legacyProject(t, in, legacyConfig)
			r := engineMustRun(t, in, dir, args...)
			if engineLines(t, filepath.Join(dir, "builder-ran")) != 1 {
				t.Fatalf("the builder did not run once:\n%s", r.Stderr)
			}
			for file, want := range map[string]string{
				"dist/version.txt":   "hash=0123abcd\n",
				"dist/config.txt":    "channel=stable\n",
				"dist/env.txt":       "linux 42\n",
				"dist/token-sha.txt": sha256Hex(t, []byte(legacyToken)) + "\n",
			} {
				if got := string(mustRead(t, filepath.Join(dir, file))); got != want {
					t.Errorf("%s = %q, want %q", file, got, want)
				}
			}
			if exists(filepath.Join(dir, "optional-missing.txt")) {
				t.Error("a replacement created a missing optional path")
			}
			// provenance: is the folder of the local attestation.
			st := engineReadStatement(t, filepath.Join(dir, "provenance", "provenance.json"))
			env := st.Predicate.Invocation.Environment
			if env["GOOS"] != "linux" || env["BUILD_NUMBER"] != "42" || env["TOKEN"] != "[redacted]" {
				t.Errorf("attested environment: %v", env)
			}
			if _, ok := env["MMBUILD_E2E_LEGACY_TOKEN"]; ok {
				t.Error("the secret's source variable reached the builder's environment")
			}
			if len(st.Subject) != 4 {
				t.Errorf("subjects: %+v", st.Subject)
			}
			for _, s := range st.Subject {
				if want := sha256Hex(t, mustRead(t, filepath.Join(dir, "dist", s.Name))); s.Digest["sha256"] != want {
					t.Errorf("subject %s sha256 %s, file has %s", s.Name, s.Digest["sha256"], want)
				}
			}
			if got := engineFilesContaining(t, legacyToken, filepath.Join(dir, "provenance"), filepath.Join(dir, "published"), filepath.Join(dir, "build.env")); len(got) > 0 {
				t.Errorf("the secret leaked into %v", got)
			}
			if strings.Contains(r.Stdout+r.Stderr, legacyToken) {
				t.Error("the secret leaked into mmbuild's output")
			}
			envFile := string(mustRead(t, filepath.Join(dir, "build.env")))
			if !strings.Contains(envFile, "MMBUILD_STAGING_URL=file://"+filepath.Join(dir, "published")+"/") {
				t.Errorf("build.env:\n%s", envFile)
			}
		})
	}

	t.Run("legacy secret unset", func(t *testing.T) {
		in := testenv.NewInstall(t)
		in.Env = append(in.Env, "BUILD_NUMBER=42", "CI_COMMIT_SHA=0123abcd")
		dir := legacyProject(t, in, legacyConfig)
		engineMustFail(t, in, dir, []string{"run"}, "matterbuild.yaml:", "MMBUILD_E2E_LEGACY_TOKEN", "not set")
		if exists(filepath.Join(dir, "builder-ran")) {
			t.Error("the builder ran")
		}
	})

	t.Run("images without a registry host", func(t *testing.T) {
		config := strings.Replace(legacyConfig, "  images: []\n", "  images:\n    - mattermost/server:latest\n", 1)
		dir := legacyProject(t, in, config)
		for _, args := range [][]string{{"validate"}, {"run"}, {"build", "--conf", "matterbuild.yaml"}} {
			// A reference without a scheme is served by the plugin that
			// serves images, but this one names no registry host: the
			// message says what to write, never guessing Docker Hub.
			engineMustFail(t, in, dir, args, "matterbuild.yaml:", "artifacts.images[0]", "names no registry host", "docker.io/mattermost/server:latest")
		}
		if exists(filepath.Join(dir, "builder-ran")) {
			t.Error("the builder ran")
		}
		if exists(filepath.Join(dir, "published")) || exists(filepath.Join(dir, "provenance")) || exists(filepath.Join(dir, "build.env")) {
			t.Error("something was written")
		}
	})
}

// sbom: true, as the original format writes it, lists what is inside the
// artifacts when a cataloger plugin is pinned: the hello example's tarball
// built from a matterbuild.yaml lists its program.
func TestLegacySBOMTrueCataloguesTheTarball(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := testenv.Example(t, "hello")
	if err := os.Remove(filepath.Join(dir, "mmbuild.yaml")); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"matterbuild.yaml": `runner:
  id: make
  params: [dist]
provenance: out/
sbom: true
env:
  - var: CC
    value: cc
materials:
  - uri: file://${PWD}/materials/greeting.txt
    digest:
      sha256: 6062e2e9e517238f22ec8e91ce36c12c0a7980f5782adbff8af8c2f2cb27b99f
artifacts:
  destination: file://${PWD}/out/published/
  files:
    - dist/hello.tar.gz
`})
	in.MustRun(dir, "plugins", "lock")
	in.MustRun(dir, "run")
	doc, err := spdxjson.Read(bytes.NewReader(mustRead(t, filepath.Join(dir, "out/sbom.spdx.json"))))
	if err != nil {
		t.Fatalf("the SBOM does not parse: %v", err)
	}
	var names []string
	for _, f := range doc.Files {
		names = append(names, f.FileName)
	}
	if !slices.Contains(names, "./hello") {
		t.Errorf("sbom: true lists the files %v, not the tarball's ./hello", names)
	}
}
