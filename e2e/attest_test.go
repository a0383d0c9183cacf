package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// attestProject is a git work tree holding two artifacts built by
// something other than mmbuild, and a local input.
func attestProject(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "elsewhere")
	writeFiles(t, dir, map[string]string{
		"dist/app.tar.gz": "an archive built by another tool\n",
		"dist/app.txt":    "notes\n",
		"vendor/lib.tgz":  "a vendored input\n",
		".gitignore":      "/out/\n",
	})
	engineCommitAll(t, dir, "built elsewhere")
	return dir
}

// mmbuild attest writes provenance for artifacts it did not build, in both
// SLSA versions, signed: mmbuild verify and cosign 3 accept it, and the
// statement says what mmbuild did not control (its own build type, every
// completeness flag false, no environment, no times).
func TestAttestVerifiedByMmbuildAndCosign3(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir := attestProject(t)
	key, pub := signingKey(t, in, dir)
	remoteSum := strings.Repeat("4b", 32)
	for _, tc := range []struct {
		predicateType, cosignType string
	}{
		{"https://slsa.dev/provenance/v0.2", "slsaprovenance02"},
		{"https://slsa.dev/provenance/v1", "slsaprovenance1"},
	} {
		t.Run(tc.cosignType, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			r := engineMustRun(t, in, dir, "attest", "--subject", "dist/*", "--material", "vendor/lib.tgz",
				"--material", "https://example.com/tool.tgz@sha256:"+remoteSum, "--sign-key", key,
				"--predicate-type", tc.predicateType, "--sbom", "spdx", "-o", out, "--json")
			var res struct {
				Files         []string `json:"files"`
				Statement     string   `json:"statement"`
				PredicateType string   `json:"predicateType"`
				BuildType     string   `json:"buildType"`
				Signed        bool     `json:"signed"`
				Subjects      []struct {
					Name   string            `json:"name"`
					Digest map[string]string `json:"digest"`
				} `json:"subjects"`
			}
			if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
				t.Fatalf("--json: %v\n%s", err, r.Stdout)
			}
			sum := sha256.Sum256([]byte("an archive built by another tool\n"))
			if res.PredicateType != tc.predicateType || res.BuildType != "https://mmbuild.dev/attest/v1" || !res.Signed ||
				len(res.Subjects) != 2 || res.Subjects[0].Name != "app.tar.gz" || res.Subjects[0].Digest["sha256"] != hex.EncodeToString(sum[:]) {
				t.Fatalf("--json reports %+v", res)
			}
			if res.Statement != filepath.Join(out, "provenance.json") {
				t.Fatalf("statement %s", res.Statement)
			}
			for _, name := range []string{"provenance.json", "provenance.intoto.jsonl", "provenance.sigstore.json", "sbom.spdx.json", "sbom.spdx.sigstore.json"} {
				if !exists(filepath.Join(out, name)) {
					t.Errorf("%s not written", name)
				}
			}
			stmt, err := os.ReadFile(res.Statement)
			if err != nil {
				t.Fatal(err)
			}
			s := string(stmt)
			for _, want := range []string{"vendor/lib.tgz", "https://example.com/tool.tgz", remoteSum, "git+"} {
				if !strings.Contains(s, want) {
					t.Errorf("the statement does not record %s:\n%s", want, s)
				}
			}
			if tc.cosignType == "slsaprovenance02" && (!strings.Contains(s, `"parameters": false`) || !strings.Contains(s, `"materials": false`) || strings.Contains(s, "buildStartedOn")) {
				t.Errorf("the statement claims what mmbuild did not see:\n%s", s)
			}
			if strings.Contains(s, "startedOn") || strings.Contains(s, `"environment": {`) {
				t.Errorf("the statement records times or an environment mmbuild did not see:\n%s", s)
			}

			artifact := filepath.Join(dir, "dist", "app.tar.gz")
			for _, att := range []string{"provenance.intoto.jsonl", "provenance.sigstore.json"} {
				r := engineMustRun(t, in, dir, "verify", "--key", pub, "--attestation", filepath.Join(out, att), artifact, filepath.Join(dir, "dist", "app.txt"))
				if !strings.Contains(r.Stdout, "subjects") {
					t.Fatalf("verify %s:\n%s", att, r.Stdout)
				}
			}
			cmd := exec.Command(testservers.Tool(t, "cosign3"), "verify-blob-attestation", "--key", pub, "--type", tc.cosignType,
				"--insecure-ignore-tlog", "--bundle", filepath.Join(out, "provenance.sigstore.json"), artifact)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
			if got, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(got), "Verified OK") {
				t.Fatalf("cosign 3 rejected mmbuild attest's Sigstore bundle: %v\n%s", err, got)
			}
			// Another artifact is not covered.
			other := filepath.Join(t.TempDir(), "app.tar.gz")
			writeFiles(t, filepath.Dir(other), map[string]string{"app.tar.gz": "tampered\n"})
			if r := in.Run(dir, "verify", "--key", pub, "--attestation", filepath.Join(out, "provenance.intoto.jsonl"), other); r.Code == 0 {
				t.Fatalf("verify accepted an artifact the statement does not cover:\n%s", r.Stdout)
			}
		})
	}
}

// Bad input to mmbuild attest: one error line naming what is wrong, a
// non-zero exit, and nothing written.
func TestAttestBadInput(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := attestProject(t)
	outside := filepath.Join(t.TempDir(), "secret.txt")
	writeFiles(t, filepath.Dir(outside), map[string]string{"secret.txt": "outside the folder\n"})
	if err := os.Symlink(outside, filepath.Join(dir, "dist", "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subject matches", []string{"--subject", "build/*.zip"}, "matched no file"},
		{"no subject given", nil, "--subject GLOB is required"},
		{"glob leaving the folder", []string{"--subject", "../*"}, "leaves the work tree"},
		{"absolute glob", []string{"--subject", outside}, "is absolute"},
		{"symlink out of the folder", []string{"--subject", "dist/*"}, "link.txt"},
		{"folder symlink out of the folder", []string{"--subject", "escape/*"}, "escape"},
		{"unreadable material", []string{"--subject", "dist/app.tar.gz", "--material", "vendor/missing.tgz"}, "vendor/missing.tgz"},
		{"material that is a folder", []string{"--subject", "dist/app.tar.gz", "--material", "vendor"}, "not a regular file"},
		{"remote material without digest", []string{"--subject", "dist/app.tar.gz", "--material", "https://user:pw@example.com/x.tgz"}, "URI@sha256:HEX"},
		{"unknown predicate type", []string{"--subject", "dist/app.tar.gz", "--predicate-type", "https://example.com/custom"}, "--predicate-type"},
		{"unreadable signing key", []string{"--subject", "dist/app.tar.gz", "--sign-key", "nokey.pem"}, "--sign-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			r := in.Run(dir, append([]string{"attest", "-o", out}, tc.args...)...)
			if r.Code == 0 {
				t.Fatalf("attest passed:\n%s", r.Stdout)
			}
			if line := errorLine(t, r); !strings.Contains(line, tc.want) {
				t.Fatalf("error line %q, want %q", line, tc.want)
			}
			if strings.Contains(r.Stderr, "pw@") {
				t.Fatalf("a URL's credentials in the error:\n%s", r.Stderr)
			}
			if exists(out) {
				t.Fatal("something was written")
			}
		})
	}
}
