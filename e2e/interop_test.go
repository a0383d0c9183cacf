package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// A project that signs with a key in its config (mmbuild.key, git-ignored:
// rightly never committed) and writes SLSA v1: the build's Sigstore bundle
// verifies with cosign 3 and with mmbuild verify; a replayer without that
// key replays it and signs the verdict (a VSA) with its own key, which
// mmbuild verify then checks.
func TestSLSAv1BundleCosign3AndReplayVSA(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir := testenv.Example(t, "hello")
	cfg := filepath.Join(dir, "mmbuild.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(data, []byte("slsa: v1\nsigning: {key: mmbuild.key}\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("/build/\n/dist/\n/out/\n/build.env\n/mmbuild.lock.hcl\n/mmbuild.key\n/vsa/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	engineMustRun(t, in, dir, "keys", "generate", "--out", filepath.Join(dir, "mmbuild"))
	pub := filepath.Join(t.TempDir(), "builder.pub")
	if err := os.Rename(filepath.Join(dir, "mmbuild.pub"), pub); err != nil {
		t.Fatal(err)
	}
	engineCommitAll(t, dir, "hello, signed, SLSA v1")
	engineMustRun(t, in, dir, "plugins", "lock")
	engineMustRun(t, in, dir, "run")

	stmt, err := os.ReadFile(filepath.Join(dir, "out/provenance.json"))
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			BuildDefinition struct {
				ResolvedDependencies []struct {
					URI    string            `json:"uri"`
					Digest map[string]string `json:"digest"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(stmt, &head); err != nil {
		t.Fatal(err)
	}
	if head.Type != "https://in-toto.io/Statement/v1" || head.PredicateType != "https://slsa.dev/provenance/v1" {
		t.Fatalf("statement %s / %s, want Statement v1 / SLSA v1", head.Type, head.PredicateType)
	}
	var kinds []string
	for _, d := range head.Predicate.BuildDefinition.ResolvedDependencies {
		switch {
		case strings.HasPrefix(d.URI, "git+") && d.Digest["gitCommit"] != "":
			kinds = append(kinds, "source")
		case strings.HasPrefix(d.URI, "file://") && d.Digest["sha256"] != "":
			kinds = append(kinds, "material")
		case strings.HasPrefix(d.URI, "mmbuild-plugin:") && d.Digest["sha256"] != "":
			kinds = append(kinds, "plugin")
		}
	}
	if got := strings.Join(kinds, ","); !strings.Contains(got, "source") || !strings.Contains(got, "material") || !strings.Contains(got, "plugin") {
		t.Fatalf("resolvedDependencies lack the source, the material or the plugins: %s", got)
	}

	bundle := filepath.Join(dir, "out/provenance.sigstore.json")
	artifact := filepath.Join(dir, "dist/hello.tar.gz")
	t.Run("cosign3", func(t *testing.T) {
		cmd := exec.Command(testservers.Tool(t, "cosign3"), "verify-blob-attestation", "--key", pub, "--type", "slsaprovenance1",
			"--insecure-ignore-tlog", "--bundle", bundle, artifact)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Verified OK") {
			t.Fatalf("cosign 3 rejected the build's Sigstore bundle: %v\n%s", err, out)
		}
		t.Logf("cosign 3: %s", lastLine(string(out)))
	})
	r := engineMustRun(t, in, dir, "verify", "--key", pub, "--attestation", bundle, artifact)
	if !strings.Contains(r.Stdout, "Sigstore bundle") {
		t.Fatalf("verify did not read the Sigstore bundle:\n%s", r.Stdout)
	}

	// A consumer's policy in its own repository: whom it trusts, what it
	// accepts. A policy that only accepts SLSA v0.2 refuses this build.
	policyDir := t.TempDir()
	policy := filepath.Join(policyDir, "verify-policy.yaml")
	writePolicy := func(predicateType string) {
		t.Helper()
		y := "keys: [" + pub + "]\npredicateTypes: [" + predicateType + "]\nbuilderIDs: [https://mmbuild.dev/builder/local@v1]\n"
		if err := os.WriteFile(policy, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writePolicy("https://slsa.dev/provenance/v1")
	r = engineMustRun(t, in, dir, "verify", "--json", "--policy", policy, "--attestation", bundle, artifact)
	for _, n := range []string{"policy:predicate-type", "policy:builder-id"} {
		if c := checkOf(t, r.Stdout, n); c.Status != "pass" {
			t.Fatalf("%s: %+v", n, c)
		}
	}
	writePolicy("https://slsa.dev/provenance/v0.2")
	if r := in.Run(dir, "verify", "--policy", policy, "--attestation", bundle, artifact); r.Code != 1 || !strings.Contains(r.Stdout, "FAIL     policy:predicate-type") {
		t.Fatalf("a policy refusing SLSA v1 passed (exit %d):\n%s", r.Code, r.Stdout)
	}

	// The replayer has neither the builder's key nor a reason to: replay
	// ignores signing: and signs the verdict with its own key.
	if err := os.Remove(filepath.Join(dir, "mmbuild.key")); err != nil {
		t.Fatal(err)
	}
	rk := filepath.Join(t.TempDir(), "replayer")
	engineMustRun(t, in, dir, "keys", "generate", "--out", rk)
	vsaDir := filepath.Join(t.TempDir(), "vsa")
	r = in.Run(dir, "replay", "--key", pub, "--vsa", vsaDir, "--sign-key", rk+".key", bundle)
	if r.Code != 0 {
		t.Fatalf("replay exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, f := range []string{"vsa.json", "vsa.intoto.jsonl", "vsa.sigstore.json"} {
		if !exists(filepath.Join(vsaDir, f)) {
			t.Fatalf("replay wrote no %s:\n%s", f, r.Stderr)
		}
	}
	r = engineMustRun(t, in, dir, "verify", "--json", "--key", rk+".pub", "--attestation", filepath.Join(vsaDir, "vsa.sigstore.json"), artifact)
	if c := checkOf(t, r.Stdout, "verification-result"); c.Status != "pass" || !strings.Contains(c.Detail, "PASSED") {
		t.Fatalf("the VSA's verdict: %+v\n%s", c, r.Stdout)
	}
	// The VSA is the replayer's word: the builder's key does not verify it.
	if r := in.Run(dir, "verify", "--key", pub, "--attestation", filepath.Join(vsaDir, "vsa.intoto.jsonl"), artifact); r.Code == 0 {
		t.Fatalf("the builder's key verified the replayer's VSA:\n%s", r.Stdout)
	}
	t.Run("cosign3", func(t *testing.T) {
		cmd := exec.Command(testservers.Tool(t, "cosign3"), "verify-blob-attestation", "--key", rk+".pub", "--type", "https://slsa.dev/verification_summary/v1",
			"--insecure-ignore-tlog", "--bundle", filepath.Join(vsaDir, "vsa.sigstore.json"), artifact)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Verified OK") {
			t.Fatalf("cosign 3 rejected the VSA's bundle: %v\n%s", err, out)
		}
	})
}

// A replay that does not reproduce writes a FAILED verdict naming the
// differing artifact; verify fails on it.
func TestReplayFailedVSA(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := clockProject(t, in)
	vsaDir := filepath.Join(t.TempDir(), "vsa")
	r := in.Run(dir, "replay", "--allow-unsigned", "--vsa", vsaDir, filepath.Join(dir, "out/provenance.json"))
	if r.Code != 4 {
		t.Fatalf("replay exit %d, want 4\n%s", r.Code, r.Stderr)
	}
	if exists(filepath.Join(vsaDir, "vsa.intoto.jsonl")) {
		t.Fatal("an unsigned verdict was written as signed")
	}
	r = in.Run(dir, "verify", "--json", "--allow-unsigned", "--attestation", filepath.Join(vsaDir, "vsa.json"), filepath.Join(dir, "out/provenance.json"))
	if r.Code == 0 {
		t.Fatalf("verify passed a FAILED verdict:\n%s", r.Stdout)
	}
	if c := checkOf(t, r.Stdout, "verification-result"); c.Status != "fail" || !strings.Contains(c.Detail, "stamp.txt") {
		t.Fatalf("the FAILED verdict: %+v", c)
	}
}

type reportCheck struct{ Name, Status, Detail string }

// checkOf returns the named check of a verify --json report.
func checkOf(t *testing.T, report, name string) reportCheck {
	t.Helper()
	var rep struct{ Checks []reportCheck }
	if err := json.Unmarshal([]byte(report), &rep); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, report)
	}
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in\n%s", name, report)
	return reportCheck{}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
