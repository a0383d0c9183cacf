package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence"
	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/internal/testkeys"
	catalog "github.com/mmbuild/mmbuild/sdk/sbom"
)

var sha = strings.Repeat("a", 64)

func request(t *testing.T) evidence.Request {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return evidence.Request{
		Build: provenance.Build{
			HandlerID: "make", Params: []string{"all"},
			Environment: map[string]string{"TOKEN": "s3cr3t"},
			Subjects:    []provenance.Resource{{URI: "app.tar.gz", Digest: provenance.Digest{"sha256": sha}}},
			Run:         provenance.RunFacts{InvocationID: "inv", Started: t0, Finished: t0.Add(time.Second)},
		},
		Redact: func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("s3cr3t"), []byte(provenance.Redacted)) },
	}
}

// names is the file names of files, in order.
func names(files []evidence.File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Name)
	}
	return out
}

// lister says each artifact holds one package, and names itself.
type lister struct{ fail error }

func (l lister) Catalog(_ context.Context, a sbom.Artifact) (*sbom.Contents, string, error) {
	if l.fail != nil {
		return nil, "", l.fail
	}
	return &sbom.Contents{Packages: []catalog.Package{{Name: "inside-" + a.Name, Version: "1"}}}, "lister 1.0", nil
}

// Assemble writes what is asked for, in publishing order with the
// statement last, secrets redacted in every file, and what it signs the
// one attestation reader verifies with the signer's key.
func TestAssemble(t *testing.T) {
	s, v := testkeys.Pair(t)
	for _, tc := range []struct {
		name    string
		signed  bool
		sbom    bool
		want    []string
		bundled int // statements in the .intoto.jsonl
	}{
		{"unsigned", false, false, []string{"provenance.json"}, 0},
		{"signed", true, false, []string{"provenance.intoto.jsonl", "provenance.sigstore.json", "provenance.json"}, 1},
		{"unsigned with SBOMs", false, true, []string{"sbom.spdx.json", "sbom.cdx.json", "provenance.intoto.jsonl", "provenance.json"}, 3},
		{"signed with SBOMs", true, true, []string{"sbom.spdx.json", "sbom.spdx.sigstore.json", "sbom.cdx.json", "sbom.cdx.sigstore.json", "provenance.intoto.jsonl", "provenance.sigstore.json", "provenance.json"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request(t)
			if tc.signed {
				req.Signers = []signing.Signer{s}
			}
			if tc.sbom {
				req.SBOM = &evidence.SBOMRequest{
					Inputs:  sbom.Inputs{Name: "app", Artifacts: []sbom.Artifact{{Name: "app.tar.gz", Digest: map[string]string{"sha256": sha}}}},
					Formats: []string{sbom.SPDX, sbom.CycloneDX},
					Catalog: lister{},
				}
			}
			ev, err := evidence.Assemble(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			files := ev.Files()
			if got := names(files); !slices.Equal(got, tc.want) {
				t.Fatalf("files %v, want %v", got, tc.want)
			}
			for _, f := range files {
				if bytes.Contains(f.Data, []byte("s3cr3t")) {
					t.Errorf("%s holds the secret", f.Name)
				}
				if !slices.Contains(evidence.Names(), f.Name) {
					t.Errorf("%s is not among evidence.Names()", f.Name)
				}
			}
			if ev.Statement == nil || ev.Statement.Subjects[0].URI != "app.tar.gz" {
				t.Fatalf("statement read back %+v", ev.Statement)
			}
			if tc.sbom && !bytes.Contains(ev.SBOMs[0].Document, []byte("inside-app.tar.gz")) {
				t.Errorf("the cataloger's packages are not in the SBOM")
			}
			if tc.bundled > 0 {
				opts := attestation.Options{AllowUnsigned: !tc.signed}
				if tc.signed {
					opts.Verifiers = []signing.Verifier{v}
				}
				a, err := attestation.Open(ev.Bundle, opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(a.Statements) != tc.bundled {
					t.Fatalf("%d statements bundled, want %d", len(a.Statements), tc.bundled)
				}
				for _, st := range a.Statements {
					if st.Err != nil || st.Verified != tc.signed {
						t.Errorf("bundled statement %d: verified %t, %v", st.Line, st.Verified, st.Err)
					}
				}
			}
		})
	}
}

// A cataloger's failure fails the assembly, and nothing is returned.
func TestAssembleCatalogFailure(t *testing.T) {
	req := request(t)
	boom := errors.New("cataloguing app.tar.gz: boom")
	req.SBOM = &evidence.SBOMRequest{Inputs: sbom.Inputs{Name: "app", Artifacts: []sbom.Artifact{{Name: "app.tar.gz", Digest: map[string]string{"sha256": sha}}}}, Catalog: lister{fail: boom}}
	if ev, err := evidence.Assemble(context.Background(), req); !errors.Is(err, boom) || ev != nil {
		t.Fatalf("Assemble = %v, %v", ev, err)
	}
	req = request(t)
	req.Build.Subjects = nil
	if _, err := evidence.Assemble(context.Background(), req); err == nil || !strings.Contains(err.Error(), "no subjects") {
		t.Fatalf("Assemble without subjects = %v", err)
	}
}

// Sign gives a statement of its own the provenance's three forms.
func TestSign(t *testing.T) {
	s, v := testkeys.Pair(t)
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + sha + `"}}],"predicateType":"https://slsa.dev/verification_summary/v1","predicate":{}}`)
	files, err := evidence.Sign(context.Background(), "vsa", stmt)
	if err != nil || !slices.Equal(names(files), []string{"vsa.json"}) {
		t.Fatalf("unsigned: %v %v", names(files), err)
	}
	files, err = evidence.Sign(context.Background(), "vsa", stmt, s)
	if err != nil || !slices.Equal(names(files), []string{"vsa.json", "vsa.intoto.jsonl", "vsa.sigstore.json"}) {
		t.Fatalf("signed: %v %v", names(files), err)
	}
	for _, f := range files[1:] {
		a, err := attestation.Open(f.Data, attestation.Options{Verifiers: []signing.Verifier{v}})
		if err != nil || a.Statements[0].Err != nil || !bytes.Equal(a.Statements[0].Payload, stmt) {
			t.Fatalf("%s does not verify: %v", f.Name, err)
		}
	}
}
