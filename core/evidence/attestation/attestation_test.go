package attestation_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/mmbuild/mmbuild/internal/testkeys"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

const (
	slsaV02 = "https://slsa.dev/provenance/v0.2"
	spdx    = "https://spdx.dev/Document"
	// sha256 of the fixture subjects app.tar.gz and mmctl.
	appSHA256   = "d3e65e4280149254adfdacfcf86cae5329a19461490f35a4ac5beef5a4118327"
	mmctlSHA256 = "272621371c0022369c843110330ce01a79be37ac91e5869029b0bad06ee00423"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type keyPair struct {
	s signing.Signer
	v signing.Verifier
}

// keys returns two fresh key pairs of different algorithms.
func keys(t testing.TB) (keyPair, keyPair) {
	return newKey(t, signing.ECDSAP256), newKey(t, signing.Ed25519)
}

func newKey(t testing.TB, alg signing.Algorithm) keyPair {
	t.Helper()
	s, v := testkeys.Of(t, alg)
	return keyPair{s, v}
}

func fixtureKey(t testing.TB) signing.Verifier {
	t.Helper()
	v, err := signing.LoadVerifier(fixture(t, "signer.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// line signs a statement as one bundle line; no signers gives an unsigned
// envelope, as the build writes an unsigned bundle.
func line(t testing.TB, stmt []byte, signers ...signing.Signer) []byte {
	t.Helper()
	if len(signers) == 0 {
		b, err := signing.Envelope{PayloadType: signing.PayloadType, Payload: stmt}.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b, err := signing.SignStatement(context.Background(), stmt, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bundle(t testing.TB, lines ...[]byte) []byte {
	t.Helper()
	b, err := signing.Bundle(lines...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// envelope builds an envelope line by hand, for what signing would refuse
// to make.
func envelope(t testing.TB, payloadType string, payload []byte, sigs ...signing.Signature) []byte {
	t.Helper()
	b, err := signing.Envelope{PayloadType: payloadType, Payload: payload, Signatures: sigs}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		size int
		want error
	}{
		{"empty", 0, nil},
		{"at the limit", signing.MaxBundleSize, nil},
		{"one byte over", signing.MaxBundleSize + 1, attestation.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := bytes.Repeat([]byte(" "), tt.size)
			got, err := attestation.Read(bytes.NewReader(data))
			if !errors.Is(err, tt.want) || (err == nil && len(got) != tt.size) {
				t.Fatalf("Read: %d bytes, %v; want %v", len(got), err, tt.want)
			}
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err = attestation.ReadFile(path)
			if !errors.Is(err, tt.want) || (err == nil && len(got) != tt.size) {
				t.Fatalf("ReadFile: %d bytes, %v; want %v", len(got), err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "larger than 16 MiB") {
				t.Errorf("error %q does not say the limit", err)
			}
		})
	}
	// An endless input is refused after the limit, not read to the end.
	if _, err := attestation.Read(endless{}); !errors.Is(err, attestation.ErrTooLarge) {
		t.Fatalf("endless input: %v, want ErrTooLarge", err)
	}
	if _, err := attestation.ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want os.ErrNotExist", err)
	}
}

// endless is an input that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// deep nests a JSON array n levels deep inside a statement's predicate.
func deep(n int) []byte {
	return []byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"x","subject":[],"predicate":` +
		strings.Repeat("[", n) + strings.Repeat("]", n) + `}`)
}

func TestOpen(t *testing.T) {
	a, b := keys(t)
	prov, sb := fixture(t, "provenance.json"), fixture(t, "sbom.json")
	signedA := bundle(t, line(t, prov, a.s))
	tampered := bytes.Replace(signedA, []byte(`"sig":"`), []byte(`"sig":"AAAA`), 1)
	tests := []struct {
		name    string
		data    []byte
		opts    attestation.Options
		openErr error   // of Open itself
		errs    []error // of each statement, in order; nil for accepted
		check   func(t *testing.T, a *attestation.Attestation)
	}{
		{name: "plain statement, unsigned allowed", data: prov, opts: attestation.Options{AllowUnsigned: true}, errs: []error{nil},
			check: func(t *testing.T, at *attestation.Attestation) {
				st := at.Statements[0]
				if st.Verified || st.Signatures != 0 || st.Type != "https://in-toto.io/Statement/v0.1" || st.PredicateType != slsaV02 || len(st.Subjects) != 2 || !bytes.Equal(st.Payload, prov) {
					t.Errorf("statement %+v", st)
				}
			}},
		{name: "plain statement, no key, not allowed", data: prov, errs: []error{attestation.ErrNoKey}},
		{name: "plain statement, key given", data: prov, opts: attestation.Options{Verifiers: []signing.Verifier{a.v}, AllowUnsigned: true},
			errs: []error{attestation.ErrUnsigned}},
		{name: "signed, right key", data: signedA, opts: attestation.Options{Verifiers: []signing.Verifier{a.v}}, errs: []error{nil},
			check: func(t *testing.T, at *attestation.Attestation) {
				if st := at.Statements[0]; !st.Verified || fmt.Sprint(st.KeyIDs) != fmt.Sprint([]string{a.v.KeyID()}) || st.Signatures != 1 {
					t.Errorf("statement %+v", st)
				}
			}},
		{name: "signed, no key, unsigned allowed", data: signedA, opts: attestation.Options{AllowUnsigned: true}, errs: []error{nil},
			check: func(t *testing.T, at *attestation.Attestation) {
				if st := at.Statements[0]; st.Verified || st.Signatures != 1 {
					t.Errorf("not verified, yet %+v", st)
				}
			}},
		{name: "signed, wrong key", data: signedA, opts: attestation.Options{Verifiers: []signing.Verifier{b.v}}, errs: []error{attestation.ErrSignature}},
		{name: "tampered signature", data: tampered, opts: attestation.Options{Verifiers: []signing.Verifier{a.v}}, errs: []error{attestation.ErrSignature}},
		{name: "threshold 2, both signed", data: bundle(t, line(t, prov, a.s, b.s)), opts: attestation.Options{Verifiers: []signing.Verifier{a.v, b.v}, Threshold: 2}, errs: []error{nil}},
		{name: "threshold 2, one signed", data: signedA, opts: attestation.Options{Verifiers: []signing.Verifier{a.v, b.v}, Threshold: 2}, errs: []error{attestation.ErrSignature},
			check: func(t *testing.T, at *attestation.Attestation) {
				if st := at.Statements[0]; len(st.KeyIDs) != 1 || st.Verified {
					t.Errorf("the key that verified is not reported: %+v", st)
				}
			}},
		{name: "bundle fixture", data: fixture(t, "signed.intoto.jsonl"), opts: attestation.Options{Verifiers: []signing.Verifier{fixtureKey(t)}}, errs: []error{nil, nil},
			check: func(t *testing.T, at *attestation.Attestation) {
				if at.Statements[0].PredicateType != slsaV02 || at.Statements[1].PredicateType != spdx || at.Statements[1].Line != 2 {
					t.Errorf("statements %+v", at.Statements)
				}
			}},
		{name: "bundle, one line forged", data: bundle(t, line(t, sb, b.s), line(t, prov, a.s)), opts: attestation.Options{Verifiers: []signing.Verifier{a.v}},
			errs: []error{attestation.ErrSignature, nil}},
		{name: "foreign payload type", data: envelope(t, "application/json", prov), opts: attestation.Options{AllowUnsigned: true}, errs: []error{attestation.ErrMalformed}},
		{name: "payload not JSON", data: envelope(t, signing.PayloadType, []byte("not json")), opts: attestation.Options{AllowUnsigned: true}, errs: []error{attestation.ErrMalformed}},
		{name: "payload with duplicate keys", data: envelope(t, signing.PayloadType, []byte(`{"_type":"a","_type":"b"}`)), opts: attestation.Options{AllowUnsigned: true}, errs: []error{attestation.ErrMalformed}},
		{name: "subject not a list", data: envelope(t, signing.PayloadType, []byte(`{"_type":"a","subject":{"name":"x"}}`)), opts: attestation.Options{AllowUnsigned: true}, errs: []error{attestation.ErrMalformed}},
		{name: "payload nested too deep", data: envelope(t, signing.PayloadType, deep(200)), opts: attestation.Options{AllowUnsigned: true}, errs: []error{attestation.ErrMalformed}},
		{name: "payload nested within the limit", data: envelope(t, signing.PayloadType, deep(100)), opts: attestation.Options{AllowUnsigned: true}, errs: []error{nil}},
		{name: "statement nested too deep", data: deep(200), opts: attestation.Options{AllowUnsigned: true}, openErr: attestation.ErrMalformed},
		{name: "not JSON", data: []byte("<html>"), openErr: attestation.ErrMalformed},
		{name: "empty", data: nil, openErr: attestation.ErrMalformed},
		{name: "too large", data: append(append([]byte(nil), prov...), bytes.Repeat([]byte(" "), signing.MaxBundleSize)...), openErr: attestation.ErrTooLarge},
		{name: "negative threshold", data: prov, opts: attestation.Options{Threshold: -1}, openErr: errAny},
		{name: "threshold above the keys", data: prov, opts: attestation.Options{Verifiers: []signing.Verifier{a.v}, Threshold: 2}, openErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, err := attestation.Open(tt.data, tt.opts)
			if tt.openErr != nil {
				if err == nil || (tt.openErr != errAny && !errors.Is(err, tt.openErr)) {
					t.Fatalf("Open: %v, want %v", err, tt.openErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(at.Statements) != len(tt.errs) {
				t.Fatalf("%d statements, want %d", len(at.Statements), len(tt.errs))
			}
			for i, want := range tt.errs {
				st := at.Statements[i]
				if got := st.Err; (want == nil) != (got == nil) || !errors.Is(got, want) {
					t.Errorf("statement %d: Err %v, want %v", i+1, got, want)
				}
				if st.Line != i+1 {
					t.Errorf("statement %d: Line %d", i+1, st.Line)
				}
			}
			if tt.check != nil {
				tt.check(t, at)
			}
		})
	}
}

// errAny stands for an error of no particular kind.
var errAny = errors.New("any error")

// The kinds keep their causes and read as them: one message, not two.
func TestRefusalKeepsItsCause(t *testing.T) {
	a, b := keys(t)
	at, err := attestation.Open(bundle(t, line(t, fixture(t, "provenance.json"), a.s)), attestation.Options{Verifiers: []signing.Verifier{b.v}})
	if err != nil {
		t.Fatal(err)
	}
	err = at.Statements[0].Err
	if !errors.Is(err, attestation.ErrSignature) || !errors.Is(err, signing.ErrNotVerified) {
		t.Fatalf("%v: the kind or the cause is lost", err)
	}
	if strings.Count(err.Error(), "not verified") != 1 {
		t.Errorf("message %q repeats itself", err)
	}
	wrapped := fmt.Errorf("checking upstream: %w", err)
	if !errors.Is(wrapped, attestation.ErrSignature) {
		t.Error("the kind is lost when wrapped")
	}
}

func TestPick(t *testing.T) {
	prov, sb := fixture(t, "provenance.json"), fixture(t, "sbom.json")
	tests := []struct {
		name     string
		data     []byte
		line     int // of the statement picked
		want     error
		contains string
	}{
		{name: "plain statement", data: prov, line: 1},
		{name: "bundle, provenance first", data: fixture(t, "signed.intoto.jsonl"), line: 1},
		{name: "bundle, provenance second", data: bundle(t, line(t, sb), line(t, prov)), line: 2},
		{name: "foreign payload type passed over", data: bundle(t, envelope(t, "application/json", prov), line(t, prov)), line: 2},
		{name: "single statement of another type", data: sb, want: attestation.ErrNoStatement, contains: `predicateType is "https://spdx.dev/Document"`},
		{name: "bundle without provenance", data: bundle(t, line(t, sb), line(t, sb)), want: attestation.ErrNoStatement, contains: "none of the 2 envelopes"},
		{name: "two provenance statements", data: bundle(t, line(t, prov), line(t, sb), line(t, prov)), want: attestation.ErrAmbiguous, contains: "2 envelopes hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, err := attestation.Open(tt.data, attestation.Options{AllowUnsigned: true})
			if err != nil {
				t.Fatal(err)
			}
			st, err := at.Pick(slsaV02)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.contains) {
					t.Fatalf("Pick: %v, want %v (%q)", err, tt.want, tt.contains)
				}
				return
			}
			if err != nil || st.Line != tt.line || st.PredicateType != slsaV02 {
				t.Fatalf("Pick: %+v, %v; want line %d", st, err, tt.line)
			}
		})
	}
}

func TestSubjectFor(t *testing.T) {
	at, err := attestation.Open(fixture(t, "provenance.json"), attestation.Options{AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	st := &at.Statements[0]
	for sha, want := range map[string]string{
		appSHA256:                  "app.tar.gz",
		mmctlSHA256:                "mmctl",
		strings.ToUpper(appSHA256): "", // compared as the core writes them
		strings.Repeat("0", 64):    "",
		"":                         "",
	} {
		if name, ok := st.SubjectFor(sha); name != want || ok != (want != "") {
			t.Errorf("SubjectFor(%q) = %q, %v; want %q", sha, name, ok, want)
		}
	}
}

func ExampleOpen() {
	data, _ := attestation.ReadFile("testdata/signed.intoto.jsonl")
	pub, _ := os.ReadFile("testdata/signer.pub")
	key, _ := signing.LoadVerifier(pub)
	at, err := attestation.Open(data, attestation.Options{Verifiers: []signing.Verifier{key}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range at.Statements {
		fmt.Println(st.Line, st.PredicateType, st.Verified, st.Err)
	}
	prov, _ := at.Pick("https://slsa.dev/provenance/v0.2")
	fmt.Println(prov.SubjectFor("272621371c0022369c843110330ce01a79be37ac91e5869029b0bad06ee00423"))
	// Output:
	// 1 https://slsa.dev/provenance/v0.2 true <nil>
	// 2 https://spdx.dev/Document true <nil>
	// mmctl true
}
