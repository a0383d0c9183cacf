package e2e

// Helpers of the build-engine tests (config, legacy, env, secrets,
// replacements, materials, cache, transfers, outputs, pipeline). Their names
// start with "engine" so they never collide with other tests' helpers.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// engineProject writes files (relative path → content) into a fresh
// project folder and returns it. A path ending in "#755" is written with
// mode 0755 (the suffix removed).
func engineProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "proj")
	for rel, content := range files {
		mode := os.FileMode(0o644)
		if r, ok := strings.CutSuffix(rel, "#755"); ok {
			rel, mode = r, 0o755
		}
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// engineMustRun runs mmbuild, which must exit 0, failing t (not the test
// the install was made for: installs are shared by subtests).
func engineMustRun(t *testing.T, in *testenv.Install, dir string, args ...string) testenv.Result {
	t.Helper()
	r := in.Run(dir, args...)
	if r.Code != 0 {
		t.Fatalf("mmbuild %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// engineLockedProject is lockedProject for subtests sharing an install.
func engineLockedProject(t *testing.T, in *testenv.Install, extraYAML string) string {
	t.Helper()
	dir := project(t, realDataDigest(t), extraYAML)
	engineMustRun(t, in, dir, "plugins", "lock")
	return dir
}

// engineReport is what `mmbuild run --json` prints.
type engineReport struct {
	StagingKey  string `json:"staging_key"`
	StagingURL  string `json:"staging_url"`
	Cached      bool   `json:"cached"`
	Attestation string `json:"attestation"`
	OutputEnv   string `json:"output_env"`
	Artifacts   []struct {
		Name   string `json:"name"`
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
		URL    string `json:"url"`
	} `json:"artifacts"`
}

// engineRunJSON runs `mmbuild run --json ARGS...`, which must succeed, and
// parses its stdout strictly.
func engineRunJSON(t *testing.T, in *testenv.Install, dir string, args ...string) (engineReport, testenv.Result) {
	t.Helper()
	r := engineMustRun(t, in, dir, append([]string{"run", "--json"}, args...)...)
	var rep engineReport
	dec := json.NewDecoder(strings.NewReader(r.Stdout))
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("run --json stdout is not the report: %v\nstdout:\n%s\nstderr:\n%s", err, r.Stdout, r.Stderr)
	}
	if dec.More() {
		t.Fatalf("run --json printed more than one JSON value:\n%s", r.Stdout)
	}
	if rep.StagingKey == "" {
		t.Fatalf("run --json: no staging key:\n%s", r.Stdout)
	}
	return rep, r
}

// engineStatement is the part of an attestation these tests read.
type engineStatement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate struct {
		Invocation struct {
			Environment map[string]string `json:"environment"`
		} `json:"invocation"`
		BuildConfig map[string]any `json:"buildConfig"`
		Metadata    struct {
			Completeness struct {
				Materials bool `json:"materials"`
			} `json:"completeness"`
		} `json:"metadata"`
		Materials []struct {
			URI    string            `json:"uri"`
			Digest map[string]string `json:"digest"`
		} `json:"materials"`
	} `json:"predicate"`
}

func engineReadStatement(t *testing.T, path string) engineStatement {
	t.Helper()
	var st engineStatement
	if err := json.Unmarshal(mustRead(t, path), &st); err != nil {
		t.Fatalf("attestation %s: %v", path, err)
	}
	if st.Type != "https://in-toto.io/Statement/v0.1" {
		t.Fatalf("attestation %s: _type %q", path, st.Type)
	}
	return st
}

// material returns the digest recorded for uri.
func (st engineStatement) material(uri string) (map[string]string, bool) {
	for _, m := range st.Predicate.Materials {
		if m.URI == uri {
			return m.Digest, true
		}
	}
	return nil, false
}

// subject returns the digest recorded for the subject name.
func (st engineStatement) subject(name string) (map[string]string, bool) {
	for _, s := range st.Subject {
		if s.Name == name {
			return s.Digest, true
		}
	}
	return nil, false
}

// engineFilePath turns a file:// URL into its path.
func engineFilePath(t *testing.T, u string) string {
	t.Helper()
	p, ok := strings.CutPrefix(u, "file://")
	if !ok {
		t.Fatalf("%q is not a file:// URL", u)
	}
	return p
}

// engineGit runs git in dir with a fixed identity and no user config.
func engineGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=e2e", "-c", "user.email=e2e@example.com",
		"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// engineCommitAll makes dir a git repository (if it is not one) and commits
// everything in it that is not ignored.
// clockProject is a committed, locked project built once whose artifact
// dist/stamp.txt holds the clock, so that no replay reproduces it; recipe
// lines are added to its one target.
func clockProject(t *testing.T, in *testenv.Install, recipe ...string) string {
	t.Helper()
	dir := engineProject(t, map[string]string{
		".gitignore": "/dist/\n/out/\n/build.env\n/mmbuild.lock.hcl\n",
		"Makefile":   "all:\n\t@mkdir -p dist\n\tdate +%s%N > dist/stamp.txt\n" + strings.Join(recipe, ""),
		"mmbuild.yaml": "handler: {id: make, params: [all]}\n" +
			"artifacts: {files: [\"dist/*\"]}\nprovenance: out/\n",
	})
	engineCommitAll(t, dir, "clock")
	engineMustRun(t, in, dir, "plugins", "lock")
	engineMustRun(t, in, dir, "run")
	return dir
}

func engineCommitAll(t *testing.T, dir, msg string) {
	t.Helper()
	if !exists(filepath.Join(dir, ".git")) {
		engineGit(t, dir, "init", "-q")
	}
	engineGit(t, dir, "add", "-A")
	engineGit(t, dir, "commit", "-q", "--allow-empty", "-m", msg)
	if st := engineGit(t, dir, "status", "--porcelain"); st != "" {
		t.Fatalf("work tree not clean after commit:\n%s", st)
	}
}

// engineFilesContaining lists the regular files under each root whose
// content contains needle.
func engineFilesContaining(t *testing.T, needle string, roots ...string) []string {
	t.Helper()
	var hits []string
	for _, root := range roots {
		if !exists(root) {
			continue
		}
		err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err != nil || !fi.Mode().IsRegular() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(needle)) {
				hits = append(hits, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return hits
}

// engineLines counts the lines of a file (0 when it does not exist).
func engineLines(t *testing.T, p string) int {
	t.Helper()
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// engineMustFail runs mmbuild, which must fail with a non-panicking single
// error line containing every want; it returns that line.
func engineMustFail(t *testing.T, in *testenv.Install, dir string, args []string, want ...string) string {
	t.Helper()
	r := in.Run(dir, args...)
	if r.Code == 0 {
		t.Fatalf("mmbuild %s succeeded, want an error containing %q\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), want, r.Stdout, r.Stderr)
	}
	line := errorLine(t, r)
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("mmbuild %s: error line lacks %q: %s", strings.Join(args, " "), w, line)
		}
	}
	return line
}
