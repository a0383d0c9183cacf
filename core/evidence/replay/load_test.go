package replay

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
)

const testCommit = "3f2c6b1e9a0d4c8b7a6f5e4d3c2b1a0f9e8d7c6b"

// testBuild is a statement a replay accepts.
func testBuild() provenance.Build {
	src := "git+https://git.example.com/org/app.git@" + testCommit
	return provenance.Build{
		HandlerID:    "make",
		Params:       []string{"dist"},
		ConfigSource: provenance.Resource{URI: src, Digest: provenance.Digest{"sha1": testCommit}},
		EntryPoint:   "mmbuild.yaml",
		Materials:    []provenance.Resource{{URI: src, Digest: provenance.Digest{"sha1": testCommit}}},
		Subjects:     []provenance.Resource{{URI: "app.tar.gz", Digest: provenance.Digest{"sha256": strings.Repeat("a", 64)}}},
	}
}

func statementJSON(t *testing.T, b provenance.Build) []byte {
	t.Helper()
	return statementAs(t, b, provenance.V02)
}

func statementAs(t *testing.T, b provenance.Build, f provenance.Format) []byte {
	t.Helper()
	data, err := provenance.Encode(b, f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// parsed is the v0.2 statement of b as Load sees it.
func parsed(t *testing.T, b provenance.Build) *provenance.Record {
	t.Helper()
	return parsedAs(t, b, provenance.V02)
}

// parsedAs is the statement of b in format f as Load sees it.
func parsedAs(t *testing.T, b provenance.Build, f provenance.Format) *provenance.Record {
	t.Helper()
	st, err := verify.ParseStatement(statementAs(t, b, f))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCheckShape(t *testing.T) {
	entry := func(ep string) func(*provenance.Build) { return func(b *provenance.Build) { b.EntryPoint = ep } }
	subject := func(name string) func(*provenance.Build) {
		return func(b *provenance.Build) { b.Subjects[0].URI = name }
	}
	tests := []struct {
		name  string
		build func(*provenance.Build)  // a change before the statement is made
		stmt  func(*provenance.Record) // a change no honest build makes
		want  string                   // in the error; "" for accepted
	}{
		{name: "as built"},
		{name: "entry point in a folder", build: entry("ci/mmbuild.yaml")},
		{name: "entry point ../x", build: entry("../x"), want: "not a path inside the source"},
		{name: "entry point a/../../x", build: entry("a/../../x"), want: "not a path inside the source"},
		{name: "entry point ..", build: entry(".."), want: "not a path inside the source"},
		{name: "entry point /abs", build: entry("/etc/mmbuild.yaml"), want: "not a path inside the source"},
		{name: "entry point empty", build: entry(""), want: "not a path inside the source"},
		{name: "handler not an id", build: func(b *provenance.Build) { b.HandlerID = "../make" }, want: "is not a handler id"},
		{name: "handler with a shell character", build: func(b *provenance.Build) { b.HandlerID = "make;rm" }, want: "is not a handler id"},
		{name: "build type of another builder", stmt: func(st *provenance.Record) { st.BuildType = "https://example.com/other/v1" },
			want: "not an mmbuild build type"},
		{name: "parameters of another shape", stmt: func(st *provenance.Record) { st.Parameters = json.RawMessage(`["make"]`) },
			want: "not the mmbuild shape"},
		{name: "sha1 not the commit of the URI", build: func(b *provenance.Build) { b.ConfigSource.Digest = provenance.Digest{"sha1": strings.Repeat("1", 40)} },
			want: "does not match the commit"},
		{name: "file:// config source", build: func(b *provenance.Build) { b.ConfigSource.URI = "file:///home/me/app" }, want: "unversioned work tree"},
		{name: "no subjects", stmt: func(st *provenance.Record) { st.Subjects = nil }, want: "no subjects"},
		{name: "images pushed", stmt: func(st *provenance.Record) {
			st.Config.Images = []provenance.Image{{Name: "oci://r/app:v1"}}
		}, want: "replaying builds with images is not supported"},
		{name: "subject name with /", build: subject("dist/app.tar.gz"), want: "not a plain file name"},
		{name: "subject name ../x", build: subject("../x"), want: "not a plain file name"},
		{name: `subject name with \`, build: subject(`..\x`), want: "not a plain file name"},
		{name: "subject name ..", build: subject(".."), want: "not a plain file name"},
		{name: "subject name .", build: subject("."), want: "not a plain file name"},
	}
	for _, f := range []provenance.Format{provenance.V02, provenance.V1} {
		for _, tt := range tests {
			t.Run(string(f)+"/"+tt.name, func(t *testing.T) {
				b := testBuild()
				if tt.build != nil {
					tt.build(&b)
				}
				st := parsedAs(t, b, f)
				if tt.stmt != nil {
					tt.stmt(st)
				}
				err := checkShape(st)
				if tt.want == "" {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("checkShape: %v, want %q", err, tt.want)
				}
			})
		}
	}
}

func TestSplitConfigSource(t *testing.T) {
	tests := []struct {
		uri, repo, commit string
		want              string // in the error; "" for accepted
	}{
		{uri: "git+https://git.example.com/org/app.git@" + testCommit, repo: "https://git.example.com/org/app.git", commit: testCommit},
		{uri: "git+ssh://git@host/org/app.git@" + testCommit, repo: "ssh://git@host/org/app.git", commit: testCommit},
		{uri: "git+file:///srv/git/app.git@" + testCommit, repo: "file:///srv/git/app.git", commit: testCommit},
		{uri: "git+/srv/git/app.git@" + testCommit, repo: "/srv/git/app.git", commit: testCommit},
		{uri: "git+../app.git@" + testCommit, want: "not a URL or an absolute path"},
		{uri: "git+app.git@" + testCommit, want: "not a URL or an absolute path"},
		{uri: "git+https://h/r@main", want: "not a full commit id"},
		{uri: "git+https://h/r@" + testCommit[:12], want: "not a full commit id"},
		{uri: "git+https://h/r@" + strings.ToUpper(testCommit), want: "not a full commit id"},
		{uri: "git+https://h/r@" + strings.Repeat("g", 40), want: "not a full commit id"},
		{uri: "git+https://h/r@" + testCommit + "\n", want: "not a full commit id"},
		{uri: "git+https://h/r", want: "has no @<commit>"},
		{uri: "file:///home/me/app", want: "unversioned work tree"},
		{uri: "https://h/r@" + testCommit, want: "is not git+<repo>@<commit>"},
		{uri: "", want: "is not git+<repo>@<commit>"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			repo, commit, err := splitConfigSource(tt.uri)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("splitConfigSource: %q %q %v, want %q", repo, commit, err, tt.want)
				}
				return
			}
			if err != nil || repo != tt.repo || commit != tt.commit {
				t.Fatalf("splitConfigSource: %q %q %v, want %q %q", repo, commit, err, tt.repo, tt.commit)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	priv, pub, err := signing.Generate(signing.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := signing.LoadSigner(priv)
	key, _ := signing.LoadVerifier(pub)
	_, otherPub, _ := signing.Generate(signing.Ed25519)
	other, _ := signing.LoadVerifier(otherPub)
	stmt := statementJSON(t, testBuild())
	sign := func(payload []byte) []byte {
		line, err := signing.SignStatement(context.Background(), payload, signer)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := signing.Bundle(line)
		return b
	}
	bad := testBuild()
	bad.EntryPoint = "../x"
	tests := []struct {
		name   string
		data   []byte
		opts   []Option
		signed bool
		want   error  // besides ErrRefused; nil for accepted
		text   string // in the error
	}{
		{name: "signed, key given", data: sign(stmt), opts: []Option{WithKeys(key)}, signed: true},
		{name: "unsigned allowed", data: stmt, opts: []Option{WithAllowUnsigned(true)}},
		{name: "unsigned, no key", data: stmt, want: attestation.ErrNoKey, text: "--key"},
		{name: "unsigned, key given", data: stmt, opts: []Option{WithKeys(key), WithAllowUnsigned(true)}, want: attestation.ErrUnsigned, text: "--key was given"},
		{name: "wrong key", data: sign(stmt), opts: []Option{WithKeys(other)}, want: attestation.ErrSignature, text: "signature"},
		{name: "threshold above the keys", data: sign(stmt), opts: []Option{WithKeys(key), WithThreshold(2)}, want: errAny},
		{name: "not provenance", data: []byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{}}`),
			opts: []Option{WithAllowUnsigned(true)}, want: attestation.ErrNoStatement},
		{name: "hostile shape", data: sign(statementJSON(t, bad)), opts: []Option{WithKeys(key)}, want: errAny, text: "entry point"},
		{name: "not an attestation", data: []byte("<html>"), opts: []Option{WithAllowUnsigned(true)}, want: attestation.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, ids, signed, err := Load(tt.data, tt.opts...)
			if tt.want == nil {
				if err != nil || st == nil || signed != tt.signed || (len(ids) > 0) != tt.signed {
					t.Fatalf("Load: %v, ids %v, signed %v", err, ids, signed)
				}
				return
			}
			if !errors.Is(err, ErrRefused) || (tt.want != errAny && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Load: %v, want %v (%q)", err, tt.want, tt.text)
			}
		})
	}
}

// errAny stands for a refusal of no particular kind.
var errAny = errors.New("any refusal")
