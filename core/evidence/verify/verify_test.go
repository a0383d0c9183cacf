package verify_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
)

const (
	commit    = "3f2c6b1e9a0d4c8b7a6f5e4d3c2b1a0f9e8d7c6b"
	repo      = "https://git.example.com/org/app.git"
	builderID = "https://ci.example.com/runner@v1"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type keyPair struct {
	s signing.Signer
	v signing.Verifier
}

var (
	keysOnce sync.Once
	key1     keyPair
	key2     keyPair
)

func keys(t testing.TB) (keyPair, keyPair) {
	keysOnce.Do(func() {
		for i, alg := range []signing.Algorithm{signing.ECDSAP256, signing.Ed25519} {
			priv, pub, err := signing.Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := signing.LoadSigner(priv)
			v, _ := signing.LoadVerifier(pub)
			if i == 0 {
				key1 = keyPair{s, v}
			} else {
				key2 = keyPair{s, v}
			}
		}
	})
	return key1, key2
}

// fixture is one build: artifacts on disk and the Build that describes them.
type fixture struct {
	dir       string
	artifacts []string
	build     provenance.Build
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir}
	// A slice, not a map: the tests rely on artifacts[0] being app.tar.gz.
	for _, a := range []struct{ name, content string }{{"app.tar.gz", "the app\n"}, {"mmctl", "the cli\n"}} {
		name, content := a.name, a.content
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		set, _, err := digest.File(p, digest.SHA512)
		if err != nil {
			t.Fatal(err)
		}
		f.artifacts = append(f.artifacts, p)
		f.build.Subjects = append(f.build.Subjects, provenance.Resource{URI: name, Digest: set})
	}
	f.build.Run.BuilderID = builderID
	f.build.HandlerID = "make"
	f.build.Params = []string{"dist"}
	f.build.ConfigSource = provenance.Resource{URI: "git+" + repo + "@" + commit, Digest: provenance.Digest{"sha1": commit}}
	f.build.EntryPoint = "mmbuild.yaml"
	f.build.Materials = []provenance.Resource{
		{URI: "git+" + repo + "@" + commit, Digest: provenance.Digest{"sha1": commit}},
		{URI: "s3://bucket/webapp.tar.gz", Digest: provenance.Digest{"sha256": strings.Repeat("ab", 32)}},
	}
	f.build.Run.Started = now.Add(-2 * time.Minute)
	f.build.Run.Finished = now.Add(-time.Minute)
	return f
}

func (f *fixture) statement(t testing.TB) []byte {
	t.Helper()
	st, err := provenance.New(f.build)
	if err != nil {
		t.Fatal(err)
	}
	b, err := provenance.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signed(t testing.TB, stmt []byte, signers ...signing.Signer) []byte {
	t.Helper()
	line, err := signing.SignStatement(context.Background(), stmt, signers...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := signing.Bundle(line)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutateEnvelope decodes a one-line bundle, changes it and re-encodes it
// without signing again.
func mutateEnvelope(t testing.TB, bundle []byte, fn func(*signing.Envelope)) []byte {
	t.Helper()
	envs, err := signing.ReadBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	fn(&envs[0])
	b, err := envs[0].MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func run(t testing.TB, att []byte, opts verify.Options) *verify.Report {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return now }
	}
	r, err := verify.Attestation(context.Background(), att, opts)
	if err != nil {
		t.Fatal(err)
	}
	names := verify.CheckNames
	if opts.Policy != nil {
		names = append(slices.Clone(names), verify.PolicyCheckNames...)
	}
	if len(r.Checks) != len(names) {
		t.Fatalf("%d checks reported, want %d: %+v", len(r.Checks), len(names), r.Checks)
	}
	for i, c := range r.Checks {
		if c.Name != names[i] {
			t.Fatalf("check %d is %s, want %s", i, c.Name, names[i])
		}
		if c.Detail == "" || strings.Contains(c.Detail, "\n") {
			t.Fatalf("check %s: detail %q", c.Name, c.Detail)
		}
	}
	return r
}

func TestVerify(t *testing.T) {
	k1, k2 := keys(t)
	type tc struct {
		name string
		// att builds the attestation and may change the artifacts.
		att  func(t *testing.T, f *fixture) []byte
		opts func(f *fixture) verify.Options
		// failed is the exact list of failing checks; nil means OK.
		failed []string
		// status of individual checks to assert.
		want map[string]verify.Status
	}
	defaultOpts := func(f *fixture) verify.Options {
		return verify.Options{Artifacts: f.artifacts, Keys: []signing.Verifier{k1.v}}
	}
	good := func(t *testing.T, f *fixture) []byte { return signed(t, f.statement(t), k1.s) }
	tests := []tc{
		{name: "valid", att: good, want: map[string]verify.Status{
			verify.CheckSignature: verify.Pass, verify.CheckSubjects: verify.Pass, verify.CheckMaterials: verify.Pass,
			verify.CheckTimes: verify.Pass, verify.CheckBuilderID: verify.Skipped,
		}},
		{name: "tampered payload", att: func(t *testing.T, f *fixture) []byte {
			return mutateEnvelope(t, good(t, f), func(e *signing.Envelope) {
				e.Payload = []byte(strings.Replace(string(e.Payload), builderID, "https://evil.example.com", 1))
			})
		}, failed: []string{verify.CheckSignature}},
		{name: "tampered signature", att: func(t *testing.T, f *fixture) []byte {
			return mutateEnvelope(t, good(t, f), func(e *signing.Envelope) { e.Signatures[0].Sig[10] ^= 0x40 })
		}, failed: []string{verify.CheckSignature}},
		{name: "wrong key", att: good, opts: func(f *fixture) verify.Options {
			o := defaultOpts(f)
			o.Keys = []signing.Verifier{k2.v}
			return o
		}, failed: []string{verify.CheckSignature}},
		{name: "subject digest changed", att: func(t *testing.T, f *fixture) []byte {
			f.build.Subjects[0].Digest = provenance.Digest{"sha256": strings.Repeat("0", 64)}
			return good(t, f)
		}, failed: []string{verify.CheckSubjects}},
		{name: "subject sha512 changed, sha256 right", att: func(t *testing.T, f *fixture) []byte {
			f.build.Subjects[1].Digest["sha512"] = strings.Repeat("1", 128)
			return good(t, f)
		}, failed: []string{verify.CheckSubjects}},
		{name: "subject with an unknown algorithm", att: func(t *testing.T, f *fixture) []byte {
			f.build.Subjects[1].Digest["md5"] = strings.Repeat("1", 32)
			return good(t, f)
		}, failed: []string{verify.CheckSubjects}},
		{name: "artifact changed", att: func(t *testing.T, f *fixture) []byte {
			b := good(t, f)
			if err := os.WriteFile(f.artifacts[1], []byte("changed\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return b
		}, failed: []string{verify.CheckSubjects}},
		{name: "artifact not a subject", att: good, opts: func(f *fixture) verify.Options {
			o := defaultOpts(f)
			other := filepath.Join(f.dir, "other")
			_ = os.WriteFile(other, []byte("x"), 0o644)
			o.Artifacts = append(o.Artifacts, other)
			return o
		}, failed: []string{verify.CheckSubjects}},
		{name: "artifact missing", att: good, opts: func(f *fixture) verify.Options {
			o := defaultOpts(f)
			o.Artifacts = append(o.Artifacts, filepath.Join(f.dir, "app.tar.gz.missing"))
			return o
		}, failed: []string{verify.CheckSubjects}},
		{name: "artifact in another folder, same name", att: good, opts: func(f *fixture) verify.Options {
			o := defaultOpts(f)
			sub := filepath.Join(f.dir, "dist")
			_ = os.MkdirAll(sub, 0o755)
			data, _ := os.ReadFile(f.artifacts[0])
			_ = os.WriteFile(filepath.Join(sub, "app.tar.gz"), data, 0o644)
			o.Artifacts = []string{filepath.Join(sub, "app.tar.gz")}
			return o
		}},
		{name: "payload type", att: func(t *testing.T, f *fixture) []byte {
			return mutateEnvelope(t, good(t, f), func(e *signing.Envelope) { e.PayloadType = "application/json" })
		}, failed: []string{verify.CheckEnvelope}},
		{name: "statement type", att: func(t *testing.T, f *fixture) []byte {
			s := strings.Replace(string(f.statement(t)), "https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v0.9", 1)
			return signed(t, []byte(s), k1.s)
		}, failed: []string{verify.CheckStatementType}},
		{name: "predicate type", att: func(t *testing.T, f *fixture) []byte {
			s := strings.Replace(string(f.statement(t)), "https://slsa.dev/provenance/v0.2", "https://slsa.dev/provenance/v1", 1)
			return signed(t, []byte(s), k1.s)
		}, failed: []string{verify.CheckPredicateType}},
		{name: "predicate with an unknown field", att: func(t *testing.T, f *fixture) []byte {
			s := strings.Replace(string(f.statement(t)), `"buildType"`, `"surprise": 1, "buildType"`, 1)
			return signed(t, []byte(s), k1.s)
		}, failed: []string{verify.CheckPredicateType}},
		{name: "builder-id matches", att: good, opts: func(f *fixture) verify.Options {
			o := defaultOpts(f)
			o.BuilderID = builderID
			return o
		}, want: map[string]verify.Status{verify.CheckBuilderID: verify.Pass}},
		{name: "builder-id differs", att: good, opts: func(f *fixture) verify.Options {
			o := defaultOpts(f)
			o.BuilderID = provenance.DefaultBuilderID
			return o
		}, failed: []string{verify.CheckBuilderID}},
		{name: "source-uri and commit match", att: good, opts: func(f *fixture) verify.Options {
			o := defaultOpts(f)
			o.SourceURI, o.SourceCommit = repo, strings.ToUpper(commit)
			return o
		}, want: map[string]verify.Status{verify.CheckSourceURI: verify.Pass, verify.CheckSourceCommit: verify.Pass}},
		{name: "source-uri with another commit", att: good, opts: func(f *fixture) verify.Options {
			o := defaultOpts(f)
			o.SourceURI = "git+" + repo + "@" + strings.Repeat("1", 40)
			return o
		}, failed: []string{verify.CheckSourceURI}},
		{name: "source-uri of another repo", att: good, opts: func(f *fixture) verify.Options {
			o := defaultOpts(f)
			o.SourceURI = "https://git.example.com/org/other.git"
			return o
		}, failed: []string{verify.CheckSourceURI}},
		{name: "source-commit differs", att: good, opts: func(f *fixture) verify.Options {
			o := defaultOpts(f)
			o.SourceCommit = strings.Repeat("1", 40)
			return o
		}, failed: []string{verify.CheckSourceCommit}},
		{name: "material without digest", att: func(t *testing.T, f *fixture) []byte {
			f.build.Materials = append(f.build.Materials, provenance.Resource{URI: "https://example.com/x.tgz"})
			return good(t, f)
		}, failed: []string{verify.CheckMaterials}},
		{name: "material with sha1 only, not git", att: func(t *testing.T, f *fixture) []byte {
			f.build.Materials = append(f.build.Materials, provenance.Resource{URI: "https://example.com/x.tgz", Digest: provenance.Digest{"sha1": commit}})
			return good(t, f)
		}, failed: []string{verify.CheckMaterials}},
		{name: "material with a malformed sha256", att: func(t *testing.T, f *fixture) []byte {
			f.build.Materials[1].Digest["sha256"] = "abc"
			return good(t, f)
		}, failed: []string{verify.CheckMaterials}},
		{name: "material without uri", att: func(t *testing.T, f *fixture) []byte {
			f.build.Materials = append(f.build.Materials, provenance.Resource{Digest: provenance.Digest{"sha256": strings.Repeat("ab", 32)}})
			return good(t, f)
		}, failed: []string{verify.CheckMaterials}},
		{name: "start after finish", att: func(t *testing.T, f *fixture) []byte {
			f.build.Run.Started, f.build.Run.Finished = f.build.Run.Finished, f.build.Run.Started
			return good(t, f)
		}, failed: []string{verify.CheckTimes}},
		{name: "finish in the future", att: func(t *testing.T, f *fixture) []byte {
			f.build.Run.Finished = now.Add(verify.MaxSkew + time.Minute)
			return good(t, f)
		}, failed: []string{verify.CheckTimes}},
		{name: "finish within the clock skew", att: func(t *testing.T, f *fixture) []byte {
			f.build.Run.Finished = now.Add(verify.MaxSkew - time.Minute)
			return good(t, f)
		}, want: map[string]verify.Status{verify.CheckTimes: verify.Pass}},
		{name: "unsigned statement allowed", att: func(t *testing.T, f *fixture) []byte { return f.statement(t) },
			opts: func(f *fixture) verify.Options { return verify.Options{Artifacts: f.artifacts, AllowUnsigned: true} },
			want: map[string]verify.Status{verify.CheckSignature: verify.Skipped}},
		{name: "signed, no key, unsigned allowed", att: good,
			opts: func(f *fixture) verify.Options { return verify.Options{Artifacts: f.artifacts, AllowUnsigned: true} },
			want: map[string]verify.Status{verify.CheckSignature: verify.Skipped}},
		{name: "unsigned statement, key given", att: func(t *testing.T, f *fixture) []byte { return f.statement(t) },
			opts: func(f *fixture) verify.Options {
				return verify.Options{Artifacts: f.artifacts, Keys: []signing.Verifier{k1.v}, AllowUnsigned: true}
			}, failed: []string{verify.CheckSignature}},
		{name: "unsigned statement, no key, not allowed", att: func(t *testing.T, f *fixture) []byte { return f.statement(t) },
			opts:   func(f *fixture) verify.Options { return verify.Options{Artifacts: f.artifacts} },
			failed: []string{verify.CheckSignature}},
		{name: "threshold 2 with two keys", att: func(t *testing.T, f *fixture) []byte { return signed(t, f.statement(t), k1.s, k2.s) },
			opts: func(f *fixture) verify.Options {
				return verify.Options{Artifacts: f.artifacts, Keys: []signing.Verifier{k2.v, k1.v}, Threshold: 2}
			}},
		{name: "threshold 2, one signature", att: good,
			opts: func(f *fixture) verify.Options {
				return verify.Options{Artifacts: f.artifacts, Keys: []signing.Verifier{k1.v, k2.v}, Threshold: 2}
			}, failed: []string{verify.CheckSignature}},
		{name: "keyid hint wrong, key right", att: func(t *testing.T, f *fixture) []byte {
			return mutateEnvelope(t, good(t, f), func(e *signing.Envelope) { e.Signatures[0].KeyID = "not-this-one" })
		}},
		{name: "bundle with an SBOM line", att: func(t *testing.T, f *fixture) []byte {
			in := sbom.Inputs{Name: "app", Created: now}
			for _, s := range f.build.Subjects {
				in.Artifacts = append(in.Artifacts, sbom.Artifact{Name: s.URI, Digest: s.Digest, Size: 8})
			}
			d, err := sbom.Document(in, sbom.SPDX)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := sbom.Statement(in, sbom.SPDX, d)
			if err != nil {
				t.Fatal(err)
			}
			sbomLine, _ := signing.SignStatement(context.Background(), doc, k1.s)
			provLine, _ := signing.SignStatement(context.Background(), f.statement(t), k1.s)
			b, _ := signing.Bundle(sbomLine, provLine)
			return b
		}, want: map[string]verify.Status{verify.CheckEnvelope: verify.Pass}},
		{name: "not an attestation", att: func(*testing.T, *fixture) []byte { return []byte("<html>") },
			failed: []string{verify.CheckEnvelope}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			att := tt.att(t, f)
			opts := defaultOpts(f)
			if tt.opts != nil {
				opts = tt.opts(f)
			}
			r := run(t, att, opts)
			got := r.Failed()
			if strings.Join(got, ",") != strings.Join(tt.failed, ",") {
				t.Fatalf("failed checks %v, want %v\n%s", got, tt.failed, dump(r))
			}
			if r.OK != (len(tt.failed) == 0) || (r.Err() == nil) != r.OK {
				t.Fatalf("OK %v, Err %v", r.OK, r.Err())
			}
			for name, want := range tt.want {
				if c, _ := r.Check(name); c.Status != want {
					t.Errorf("check %s is %s (%s), want %s", name, c.Status, c.Detail, want)
				}
			}
			if c, _ := r.Check(verify.CheckSignature); c.Status == verify.Pass && len(r.KeyIDs) == 0 {
				t.Error("signature passed without key ids")
			}
		})
	}
}

func dump(r *verify.Report) string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

func TestReportJSON(t *testing.T) {
	k1, _ := keys(t)
	f := newFixture(t)
	r := run(t, signed(t, f.statement(t), k1.s), verify.Options{Artifacts: f.artifacts, Keys: []signing.Verifier{k1.v}})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Checks []struct{ Name, Status, Detail string }
		OK     bool `json:"ok"`
	}
	if err := json.Unmarshal(b, &back); err != nil || !back.OK || len(back.Checks) != len(verify.CheckNames) || back.Checks[0].Status != "pass" {
		t.Fatalf("%v %s", err, b)
	}
	if r.Statement == nil || r.Statement.BuilderID != builderID {
		t.Fatal("statement not returned")
	}
}

func TestFile(t *testing.T) {
	k1, _ := keys(t)
	f := newFixture(t)
	path := filepath.Join(f.dir, "app.intoto.jsonl")
	if err := os.WriteFile(path, signed(t, f.statement(t), k1.s), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := verify.File(context.Background(), path, verify.Options{Artifacts: f.artifacts, Keys: []signing.Verifier{k1.v}, Now: func() time.Time { return now }})
	if err != nil || !r.OK {
		t.Fatalf("%v\n%s", err, dump(r))
	}
	if _, err := verify.File(context.Background(), path+".missing", verify.Options{}); err == nil {
		t.Fatal("missing attestation file: no error")
	}
	if _, err := verify.Attestation(context.Background(), nil, verify.Options{Keys: []signing.Verifier{k1.v}, Threshold: 2}); err == nil {
		t.Fatal("threshold above the keys given: no error")
	}
}

func TestParseStatementIsCaseSensitive(t *testing.T) {
	f := newFixture(t)
	stmt := string(f.statement(t))
	if _, err := verify.ParseStatement([]byte(stmt)); err != nil {
		t.Fatal(err)
	}
	for _, swap := range [][2]string{{`"_type"`, `"_TYPE"`}, {`"buildType"`, `"buildtype"`}, {`"builder"`, `"Builder"`}} {
		changed := strings.Replace(stmt, swap[0], swap[1], 1)
		if _, err := verify.ParseStatement([]byte(changed)); err == nil {
			t.Errorf("%s accepted as %s", swap[1], swap[0])
		}
	}
}

func TestSourceURIMatches(t *testing.T) {
	got := "git+https://git.example.com/org/app.git@" + commit
	for want, ok := range map[string]bool{
		"https://git.example.com/org/app.git":                     true,
		"git+https://git.example.com/org/app.git":                 true,
		"git+https://git.example.com/org/app.git@" + commit:       true,
		"https://git.example.com/org/app.git@" + commit:           true,
		"git+https://git.example.com/org/app.git@deadbeef":        false,
		"https://git.example.com/org/app":                         false,
		"https://git.example.com/org/app.git/":                    false,
		"git+https://git.example.com/org/app.git@" + commit + "x": false,
		"": false,
	} {
		if verify.SourceURIMatches(got, want) != ok {
			t.Errorf("SourceURIMatches(%q, %q) != %v", got, want, ok)
		}
	}
	ssh := "git+ssh://git@host/org/app.git@" + commit
	if !verify.SourceURIMatches(ssh, "ssh://git@host/org/app.git") {
		t.Error("ssh URI with a user: revision not split after the path")
	}
	if !verify.SourceURIMatches("git+https://h/r@refs/heads/main", "https://h/r") {
		t.Error("ref revision with slashes")
	}
}

func FuzzAttestation(f *testing.F) {
	k1, _ := keys(f)
	fx := newFixture(f)
	stmt := fx.statement(f)
	f.Add(stmt)
	f.Add(signed(f, stmt, k1.s))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[],"predicate":{"metadata":{"buildStartedOn":"2020-01-01T00:00:00Z"}}}`))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AA=="}]}`))
	f.Add([]byte(`{"_tYPe":"https://in-toto.io/Statement/v0.1","prediCAteTYpe":"https://slsa.dev/provenance/v0.2","prediCAte":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := verify.Options{Artifacts: fx.artifacts, Keys: []signing.Verifier{k1.v}, Now: func() time.Time { return now }}
		r := run(t, data, opts)
		if r.OK {
			// Only a statement signed by k1 can pass.
			if c, _ := r.Check(verify.CheckSignature); c.Status != verify.Pass {
				t.Fatalf("OK without a verified signature: %s", dump(r))
			}
		}
		opts.Keys, opts.AllowUnsigned = nil, true
		run(t, data, opts)
		if _, err := verify.ParseStatement(data); err == nil {
			if r := run(t, data, opts); r.Statement == nil {
				t.Fatal("ParseStatement accepted what the checks did not parse")
			}
		}
	})
}
