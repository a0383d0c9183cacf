package verify_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
)

// The npm provenance of sigstore@2.0.0 (testdata/publicgood/README.md).
const (
	npmBundle  = "testdata/publicgood/sigstore.js@2.0.0-provenance.sigstore.json"
	npmRoot    = "testdata/publicgood/public-good.json"
	npmSHA512  = "46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c"
	npmIssuer  = "https://token.actions.githubusercontent.com"
	npmSubject = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
)

func npmKeyless(t *testing.T, ids ...signing.Identity) *signing.Keyless {
	t.Helper()
	tr, err := signing.LoadTrustedRoot(npmRoot)
	if err != nil {
		t.Fatal(err)
	}
	k, err := signing.NewKeyless(tr, ids)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func npmDigest(t *testing.T, hex string) []verify.Digest {
	t.Helper()
	d, err := verify.ParseDigest("sha512:" + hex)
	if err != nil {
		t.Fatal(err)
	}
	return []verify.Digest{d}
}

// TestVerifyNPMProvenanceByIdentity verifies a real public-good bundle
// offline: the right identity passes, any other criterion that differs
// fails the signature check, a digest no subject records fails subjects.
func TestVerifyNPMProvenanceByIdentity(t *testing.T) {
	right := signing.Identity{SubjectRegexp: "^https://github.com/sigstore/sigstore-js/", Issuer: npmIssuer}
	tests := []struct {
		name     string
		id       signing.Identity
		digest   string
		failed   []string
		contains string // in the failed check's detail
	}{
		{name: "right identity", id: right, digest: npmSHA512},
		{name: "exact subject and extensions", digest: npmSHA512, id: signing.Identity{Subject: npmSubject, Issuer: npmIssuer,
			Repository: "https://github.com/sigstore/sigstore-js", Ref: "refs/heads/main",
			Workflow: "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"}},
		{name: "another repository's subject", digest: npmSHA512, id: signing.Identity{SubjectRegexp: "^https://github.com/octo/", Issuer: npmIssuer},
			failed: []string{verify.CheckSignature}, contains: "^https://github.com/octo/"},
		{name: "another issuer", digest: npmSHA512, id: signing.Identity{SubjectRegexp: right.SubjectRegexp, Issuer: "https://gitlab.com"},
			failed: []string{verify.CheckSignature}, contains: "gitlab.com"},
		{name: "another ref", digest: npmSHA512, id: signing.Identity{SubjectRegexp: right.SubjectRegexp, Issuer: npmIssuer, Ref: "refs/heads/evil"},
			failed: []string{verify.CheckSignature}, contains: "refs/heads/evil"},
		{name: "another artifact's digest", id: right, digest: "00" + npmSHA512[2:],
			failed: []string{verify.CheckSubjects}, contains: "no subject records this digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := verify.File(context.Background(), npmBundle, verify.Options{Keyless: npmKeyless(t, tt.id), Digests: npmDigest(t, tt.digest)})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(r.Failed(), ","); got != strings.Join(tt.failed, ",") {
				t.Fatalf("failed checks %q, want %q: %v", got, tt.failed, r.Err())
			}
			if len(tt.failed) == 0 {
				c, _ := r.Check(verify.CheckSignature)
				if r.Certificate == nil || r.Certificate.Subject != npmSubject || !r.Certificate.SCT || !strings.Contains(c.Detail, npmSubject) {
					t.Fatalf("certificate %+v, signature %q", r.Certificate, c.Detail)
				}
				if r.Certificate.Repository != "https://github.com/sigstore/sigstore-js" {
					t.Fatalf("repository %q", r.Certificate.Repository)
				}
				return
			}
			c, _ := r.Check(tt.failed[0])
			if !strings.Contains(c.Detail, tt.contains) || strings.Contains(c.Detail, "\n") {
				t.Fatalf("%s: %q, want one line with %q", c.Name, c.Detail, tt.contains)
			}
		})
	}
}

// TestVerifyKeylessRefusesAlteredBundles: a bundle whose payload was
// changed, and one whose log entry is another artifact's, fail the
// signature check even with the right identity.
func TestVerifyKeylessRefusesAlteredBundles(t *testing.T) {
	orig, err := os.ReadFile(npmBundle)
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile("testdata/publicgood/other-artifact.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	var b, o map[string]any
	if err := json.Unmarshal(orig, &b); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(other, &o); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		alter    func(b map[string]any)
		contains string
	}{
		{name: "log entry of another artifact", contains: "transparency log signature does not match", alter: func(b map[string]any) {
			b["verificationMaterial"].(map[string]any)["tlogEntries"] = o["verificationMaterial"].(map[string]any)["tlogEntries"]
		}},
		{name: "no log entry", contains: "not enough verified log entries", alter: func(b map[string]any) {
			delete(b["verificationMaterial"].(map[string]any), "tlogEntries")
		}},
	}
	id := signing.Identity{SubjectRegexp: "^https://github.com/sigstore/sigstore-js/", Issuer: npmIssuer}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c map[string]any
			if err := json.Unmarshal(orig, &c); err != nil {
				t.Fatal(err)
			}
			tt.alter(c)
			data, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			r, err := verify.Attestation(context.Background(), data, verify.Options{Keyless: npmKeyless(t, id), Digests: npmDigest(t, npmSHA512)})
			if err != nil {
				t.Fatal(err)
			}
			sig, _ := r.Check(verify.CheckSignature)
			if sig.Status != verify.Fail || !strings.Contains(sig.Detail, tt.contains) || r.Certificate != nil {
				t.Fatalf("signature %s %q, want a failure about %q", sig.Status, sig.Detail, tt.contains)
			}
		})
	}
}

// TestPolicyIdentities: a policy's identities are trusted signers and a
// named check; a bundle signed by another identity fails both.
func TestPolicyIdentities(t *testing.T) {
	root, err := filepath.Abs(npmRoot)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		policy string
		failed []string
	}{
		{name: "trusted", policy: `identities:
  - issuer: ` + npmIssuer + `
    subjectRegexp: ^https://github.com/sigstore/sigstore-js/
    repository: https://github.com/sigstore/sigstore-js
    ref: refs/heads/main
trustedRoot: ` + root + "\n"},
		{name: "another workflow", policy: `identities:
  - issuer: ` + npmIssuer + `
    subjectRegexp: ^https://github.com/sigstore/sigstore-js/
    workflow: https://github.com/sigstore/sigstore-js/.github/workflows/evil.yml@refs/heads/main
trustedRoot: ` + root + "\n", failed: []string{verify.CheckSignature, verify.CheckPolicyIdentity}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := writePolicy(t, tt.policy, nil)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := signing.LoadTrustedRoot(p.TrustedRootPath())
			if err != nil {
				t.Fatal(err)
			}
			if err := p.UseTrustedRoot(tr); err != nil {
				t.Fatal(err)
			}
			r, err := verify.File(context.Background(), npmBundle, verify.Options{Policy: p, Digests: npmDigest(t, npmSHA512)})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(r.Failed(), ","); got != strings.Join(tt.failed, ",") {
				t.Fatalf("failed checks %q, want %q: %v", got, tt.failed, r.Err())
			}
			if c, _ := r.Check(verify.CheckPolicyIdentity); len(tt.failed) == 0 && (c.Status != verify.Pass || !strings.Contains(c.Detail, npmSubject)) {
				t.Fatalf("policy:identity %s %q", c.Status, c.Detail)
			}
		})
	}
}

// TestPolicyIdentityErrors: identities that could match nothing or
// anything are refused when the policy is read, with where.
func TestPolicyIdentityErrors(t *testing.T) {
	for _, tt := range []struct{ policy, want string }{
		{"identities: [{issuer: https://gitlab.com}]\n", "identities[0]: no subject"},
		{"identities: [{subject: a@example.com}]\n", "identities[0]: no issuer"},
		{"identities: [{subjectRegexp: '(', issuer: x}]\n", "identities[0]: regular expression"},
		{"identities: [{subject: a, subjectRegexp: b, issuer: x}]\n", "both exactly and as a regular expression"},
		{"trustedRoot: root.json\n", "trustedRoot: no identities"},
	} {
		_, err := writePolicy(t, tt.policy, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line with %q", tt.policy, err, tt.want)
		}
	}
}

// TestVerifyKeylessAndKeysDoNotStandInForEachOther: a keyless bundle does
// not pass on a key, nor a key-signed bundle (mmbuild's) on an identity;
// with both given, each verifies what it signed.
func TestVerifyKeylessAndKeysDoNotStandInForEachOther(t *testing.T) {
	k1, _ := keys(t)
	id := signing.Identity{SubjectRegexp: "^https://github.com/sigstore/sigstore-js/", Issuer: npmIssuer}
	f := newFixture(t)
	_, keySigned, err := signing.SignForms(context.Background(), f.statement(t), k1.s)
	if err != nil {
		t.Fatal(err)
	}
	npm, err := os.ReadFile(npmBundle)
	if err != nil {
		t.Fatal(err)
	}
	keyOnly := verify.Options{Keys: []signing.Verifier{k1.v}}
	idOnly := verify.Options{Keyless: npmKeyless(t, id)}
	both := verify.Options{Keys: []signing.Verifier{k1.v}, Keyless: npmKeyless(t, id)}
	tests := []struct {
		name     string
		bundle   []byte
		opts     verify.Options
		pass     bool
		contains string
	}{
		{"keyless bundle, key only", npm, keyOnly, false, "not verified"},
		{"key-signed bundle, identity only", keySigned, idOnly, false, "signed with a key, and no key was given"},
		{"keyless bundle, both", npm, both, true, npmSubject},
		{"key-signed bundle, both", keySigned, both, true, "1 of 1 key verified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := verify.Attestation(context.Background(), tt.bundle, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := r.Check(verify.CheckSignature)
			if (c.Status == verify.Pass) != tt.pass || !strings.Contains(c.Detail, tt.contains) {
				t.Fatalf("signature %s %q, want pass=%t with %q", c.Status, c.Detail, tt.pass, tt.contains)
			}
		})
	}
}
