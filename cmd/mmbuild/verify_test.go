package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
	"github.com/mmbuild/mmbuild/internal/testenv"
)

// verifyProject is a folder with two artifacts, two key pairs made by
// `mmbuild keys generate`, and helpers to write attestations of them.
type verifyProject struct {
	t         *testing.T
	in        *testenv.Install
	dir       string
	artifacts []string
	build     provenance.Build
}

func newVerifyProject(t *testing.T) *verifyProject {
	in := testenv.NewInstall(t)
	dir := t.TempDir()
	p := &verifyProject{t: t, in: in, dir: dir}
	in.MustRun(dir, "keys", "generate", "--out", "a")
	in.MustRun(dir, "keys", "generate", "--out", "b", "--type", "ed25519")
	for _, name := range []string{"server.tar.gz", "mmctl"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("content of "+name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		set, _, err := digest.File(path, digest.SHA512)
		if err != nil {
			t.Fatal(err)
		}
		p.artifacts = append(p.artifacts, name)
		p.build.Subjects = append(p.build.Subjects, provenance.Resource{URI: name, Digest: set})
	}
	p.build.HandlerID = "make"
	p.build.ConfigSource = provenance.Resource{URI: "git+https://git.example.com/app.git@" + strings.Repeat("c", 40), Digest: provenance.Digest{"sha1": strings.Repeat("c", 40)}}
	p.build.Run.Started = time.Now().Add(-time.Minute)
	p.build.Run.Finished = time.Now()
	return p
}

func (p *verifyProject) statement() []byte {
	st, err := provenance.New(p.build)
	if err != nil {
		p.t.Fatal(err)
	}
	b, err := provenance.Marshal(st)
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

func (p *verifyProject) signer(prefix string) signing.Signer {
	pem, err := os.ReadFile(filepath.Join(p.dir, prefix+".key"))
	if err != nil {
		p.t.Fatal(err)
	}
	s, err := signing.LoadSigner(pem)
	if err != nil {
		p.t.Fatal(err)
	}
	return s
}

// write signs the statement with the keys named and writes the bundle.
func (p *verifyProject) write(name string, stmt []byte, keys ...string) string {
	data := stmt
	if len(keys) > 0 {
		var signers []signing.Signer
		for _, k := range keys {
			signers = append(signers, p.signer(k))
		}
		line, err := signing.SignStatement(context.Background(), stmt, signers...)
		if err != nil {
			p.t.Fatal(err)
		}
		data, _ = signing.Bundle(line)
	}
	if err := os.WriteFile(filepath.Join(p.dir, name), data, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return name
}

var checkLine = regexp.MustCompile(`(?m)^(ok|FAIL|skipped) +([a-z-]+) +(.+)$`)

// statuses maps each check name printed to its label.
func statuses(t *testing.T, stdout string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range checkLine.FindAllStringSubmatch(stdout, -1) {
		out[m[2]] = m[1]
	}
	if len(out) != len(verify.CheckNames) {
		t.Fatalf("%d checks printed, want %d:\n%s", len(out), len(verify.CheckNames), stdout)
	}
	return out
}

func TestVerifyCLI(t *testing.T) {
	p := newVerifyProject(t)
	in, dir := p.in, p.dir
	good := p.write("good.intoto.jsonl", p.statement(), "a")
	args := func(att string, extra ...string) []string {
		return append(append([]string{"verify"}, p.artifacts...), append([]string{"--attestation", att}, extra...)...)
	}

	t.Run("valid", func(t *testing.T) {
		r := in.MustRun(dir, args(good, "--key", "a.pub", "--source-uri", "https://git.example.com/app.git")...)
		s := statuses(t, r.Stdout)
		for _, name := range []string{"envelope", "signature", "statement-type", "predicate-type", "subjects", "source-uri", "materials", "times"} {
			if s[name] != "ok" {
				t.Errorf("%s: %s\n%s", name, s[name], r.Stdout)
			}
		}
		if s["builder-id"] != "skipped" {
			t.Errorf("builder-id: %s", s["builder-id"])
		}
	})

	// Each rejection exits 1, names the failing check, and says so in one line.
	reject := func(t *testing.T, att, check string, extra ...string) {
		t.Helper()
		r := in.Run(dir, args(att, extra...)...)
		if r.Code != 1 {
			t.Fatalf("exit %d, want 1\n%s\n%s", r.Code, r.Stdout, r.Stderr)
		}
		if s := statuses(t, r.Stdout); s[check] != "FAIL" {
			t.Fatalf("%s is %q, want FAIL\n%s", check, s[check], r.Stdout)
		}
		stderr := strings.TrimSpace(r.Stderr)
		if strings.Contains(stderr, "\n") || !strings.Contains(stderr, "verification failed: "+check) {
			t.Fatalf("stderr: %q", stderr)
		}
	}
	t.Run("tampered payload", func(t *testing.T) {
		env, _ := signing.ReadBundle(must(os.ReadFile(filepath.Join(dir, good))))
		env[0].Payload = []byte(strings.Replace(string(env[0].Payload), "make", "evil", 1))
		b, _ := env[0].MarshalJSON()
		reject(t, p.writeRaw("tampered.json", b), verify.CheckSignature, "--key", "a.pub")
	})
	t.Run("tampered signature", func(t *testing.T) {
		env, _ := signing.ReadBundle(must(os.ReadFile(filepath.Join(dir, good))))
		env[0].Signatures[0].Sig[8] ^= 1
		b, _ := env[0].MarshalJSON()
		reject(t, p.writeRaw("badsig.json", b), verify.CheckSignature, "--key", "a.pub")
	})
	t.Run("wrong key", func(t *testing.T) {
		reject(t, good, verify.CheckSignature, "--key", "b.pub")
	})
	t.Run("subject digest changed", func(t *testing.T) {
		saved := p.build.Subjects[0].Digest
		p.build.Subjects[0].Digest = provenance.Digest{"sha256": strings.Repeat("0", 64)}
		att := p.write("subject.intoto.jsonl", p.statement(), "a")
		p.build.Subjects[0].Digest = saved
		reject(t, att, verify.CheckSubjects, "--key", "a.pub")
	})
	t.Run("artifact changed", func(t *testing.T) {
		other := t.TempDir()
		for _, a := range p.artifacts {
			_ = os.WriteFile(filepath.Join(other, a), must(os.ReadFile(filepath.Join(dir, a))), 0o644)
		}
		_ = os.WriteFile(filepath.Join(other, "mmctl"), []byte("changed\n"), 0o644)
		r := in.Run(other, "verify", "server.tar.gz", "mmctl", "--attestation", filepath.Join(dir, good), "--key", filepath.Join(dir, "a.pub"))
		if r.Code != 1 || statuses(t, r.Stdout)["subjects"] != "FAIL" || !strings.Contains(r.Stdout, "mmctl: sha256 is") {
			t.Fatalf("exit %d\n%s", r.Code, r.Stdout)
		}
	})
	t.Run("builder-id expectation", func(t *testing.T) {
		reject(t, good, verify.CheckBuilderID, "--key", "a.pub", "--builder-id", "https://ci.example.com/other")
	})
	t.Run("threshold 2 with two keys", func(t *testing.T) {
		both := p.write("both.intoto.jsonl", p.statement(), "a", "b")
		in.MustRun(dir, args(both, "--key", "a.pub", "--key", "b.pub", "--threshold", "2")...)
		reject(t, good, verify.CheckSignature, "--key", "a.pub", "--key", "b.pub", "--threshold", "2")
	})
	t.Run("json", func(t *testing.T) {
		r := in.Run(dir, args(good, "--key", "b.pub", "--json")...)
		var rep verify.Report
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("%v\n%s", err, r.Stdout)
		}
		if r.Code != 1 || rep.OK || len(rep.Checks) != len(verify.CheckNames) || rep.Checks[1].Status != verify.Fail {
			t.Fatalf("exit %d\n%s", r.Code, r.Stdout)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		plain := p.write("statement.json", p.statement())
		r := in.MustRun(dir, args(plain, "--allow-unsigned")...)
		if statuses(t, r.Stdout)["signature"] != "skipped" || !strings.Contains(r.Stderr, "NOT verified") {
			t.Fatalf("%s\n%s", r.Stdout, r.Stderr)
		}
		reject(t, plain, verify.CheckSignature)
		reject(t, plain, verify.CheckSignature, "--key", "a.pub")
	})
	t.Run("usage", func(t *testing.T) {
		for _, a := range [][]string{
			{"verify", "mmctl"},
			{"verify", "--attestation", good},
			{"verify", "mmctl", "--attestation", good, "--key", "a.pub", "--threshold", "2"},
			{"verify", "mmctl", "--attestation", good, "--threshold", "0"},
		} {
			if r := in.Run(dir, a...); r.Code != 2 {
				t.Errorf("%v: exit %d, want 2\n%s", a, r.Code, r.Stderr)
			}
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, a := range [][]string{
			{"verify", "mmctl", "--attestation", "missing.json", "--key", "a.pub"},
			{"verify", "mmctl", "--attestation", good, "--key", "a.key"},
			{"verify", "mmctl", "--attestation", good, "--key", "missing.pub"},
		} {
			r := in.Run(dir, a...)
			if r.Code != 1 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.HasPrefix(r.Stderr, "mmbuild: ") {
				t.Errorf("%v: exit %d\n%s", a, r.Code, r.Stderr)
			}
		}
	})
}

func (p *verifyProject) writeRaw(name string, data []byte) string {
	if err := os.WriteFile(filepath.Join(p.dir, name), data, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return name
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestVerifyCLIByIdentity: npm's provenance of sigstore@2.0.0 (a real
// public-good bundle) passes `mmbuild verify` offline with its digest and
// the right identity, and fails with another, in one line.
func TestVerifyCLIByIdentity(t *testing.T) {
	in := testenv.NewInstall(t)
	data, err := filepath.Abs("../../core/evidence/verify/testdata/publicgood")
	if err != nil {
		t.Fatal(err)
	}
	const sha512 = "46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c"
	args := func(identityRegexp string, extra ...string) []string {
		return append([]string{"verify", "--digest", "sha512:" + sha512,
			"--attestation", filepath.Join(data, "sigstore.js@2.0.0-provenance.sigstore.json"),
			"--trusted-root", filepath.Join(data, "public-good.json"),
			"--certificate-identity-regexp", identityRegexp,
			"--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"}, extra...)
	}
	r := in.MustRun(t.TempDir(), args("^https://github.com/sigstore/sigstore-js/")...)
	if s := statuses(t, r.Stdout); s["signature"] != "ok" || s["subjects"] != "ok" ||
		!strings.Contains(r.Stdout, "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main") {
		t.Fatalf("%s\n%s", r.Stdout, r.Stderr)
	}
	r = in.Run(t.TempDir(), args("^https://github.com/octo/")...)
	stderr := strings.TrimSpace(r.Stderr)
	if r.Code != 1 || statuses(t, r.Stdout)["signature"] != "FAIL" || strings.Contains(stderr, "\n") ||
		!strings.Contains(stderr, "verification failed: signature") || !strings.Contains(stderr, "^https://github.com/octo/") {
		t.Fatalf("exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, bad := range [][]string{
		args("^https://github.com/sigstore/sigstore-js/", "--digest", "md5:00"),
		{"verify", "--digest", "sha512:" + sha512, "--attestation", "x.json", "--certificate-identity", "a@example.com"},
		{"verify", "--digest", "sha512:" + sha512, "--attestation", "x.json", "--trusted-root", "root.json", "--key", "a.pub"},
	} {
		if r := in.Run(t.TempDir(), bad...); r.Code != 2 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, want 2\n%s", bad, r.Code, r.Stderr)
		}
	}
}
