package attestation_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/internal/fuzzwatch"
)

// FuzzOpen checks Read and Open on any input: no panic; every error, of
// Open or of a statement, is one line of the kinds Open documents; Open
// agrees with signing.ReadBundle on the envelopes; an accepted statement
// is an in-toto one whose payload is a strict JSON object with the
// header fields Open reports; with a key, nothing is accepted that the key
// did not verify. CheckUpstream, which reads upstream attestations with
// the same code, must not panic either.
func FuzzOpen(f *testing.F) {
	var lines [][]byte
	for _, name := range []string{"provenance.json", "sbom.json", "signed.intoto.jsonl"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		if strings.HasSuffix(name, ".jsonl") {
			lines = append(lines, bytes.Split(bytes.TrimSpace(data), []byte("\n"))...)
		} else {
			lines = append(lines, unsignedLine(f, signing.PayloadType, data))
		}
	}
	for _, l := range lines {
		f.Add(l)
		var indented bytes.Buffer
		if err := json.Indent(&indented, l, "", "  "); err == nil {
			f.Add(indented.Bytes())
		}
	}
	f.Add(bytes.Join(lines, []byte("\r\n")))
	f.Add(bytes.Join(lines, []byte("\n\n")))
	for _, s := range []string{
		`{"_type":"https://in-toto.io/Statement/v1","predicateType":"x","subject":[{"name":"a","digest":{"sha256":"` + strings.Repeat("ab", 32) + `"},"uri":"u"}],"predicate":{}}`,
		`{"_type":"x"}`,
		`{"_type":"a","_type":"b"}`,
		`{"_type":"a","subject":{"name":"x"}}`,
		`{"_type":"a","predicateType":1}`,
		`{"_type":"a","subject":[{"name":1}]}`,
		`{"_type":"\u00e9\ud800","predicateType":"p\n"}`,
		`{"_type":"x","payloadType":"y"}`,
		`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"k","sig":"AA=="}]}`,
		`{"payloadType":"application/vnd.in-toto+json","payload":"eyJfdHlwZSI6IngiLCJwcmVkaWNhdGVUeXBlIjoieSJ9","signatures":[]}`,
		`{"payloadType":"application/json","payload":"e30=","signatures":[]}`,
		`{"payloadType":"application/vnd.in-toto+json","payload":"bm90IGpzb24=","signatures":[]}`,
		`{"payloadType":"a","payload":"!!","signatures":[]}`,
		`{"payloadType":"a","payload":"","signatures":[{"keyid":"","sig":""}]}`,
		`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"x","subject":[],"predicate":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		strings.Repeat(`{"_type":`, 200) + "1" + strings.Repeat("}", 200),
		"<html>",
		"",
		" \n\t",
		"{\"_type\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	key := fixtureKey(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		defer fuzzwatch.Start("Open", data)()
		read, err := attestation.Read(bytes.NewReader(data))
		if err != nil || !bytes.Equal(read, data) {
			t.Fatalf("Read: %d of %d bytes, %v", len(read), len(data), err)
		}
		envs, bundleErr := signing.ReadBundle(data)
		if bundleErr != nil {
			oneLine(t, "ReadBundle", bundleErr)
		}

		a, err := attestation.Open(data, attestation.Options{AllowUnsigned: true})
		if err != nil {
			oneLine(t, "Open", err)
			if !errors.Is(err, attestation.ErrMalformed) && !errors.Is(err, attestation.ErrTooLarge) {
				t.Fatalf("Open error %q is neither ErrMalformed nor ErrTooLarge", err)
			}
			if bundleErr == nil {
				t.Fatalf("Open refuses what ReadBundle reads: %v", err)
			}
		} else {
			if bundleErr != nil {
				t.Fatalf("Open reads what ReadBundle refuses: %v", bundleErr)
			}
			if len(a.Statements) != len(envs) || len(a.Statements) == 0 {
				t.Fatalf("%d statements, %d envelopes", len(a.Statements), len(envs))
			}
			for i := range a.Statements {
				st := &a.Statements[i]
				if st.Line != i+1 || st.PayloadType != envs[i].PayloadType || !bytes.Equal(st.Payload, envs[i].Payload) || st.Signatures != len(envs[i].Signatures) {
					t.Fatalf("statement %d does not describe its envelope: %+v", i+1, st)
				}
				if st.Verified || len(st.KeyIDs) > 0 {
					t.Fatalf("statement %d verified without a key: %+v", i+1, st)
				}
				if st.Err != nil {
					oneLine(t, fmt.Sprintf("statement %d", i+1), st.Err)
					// No key, unsigned allowed: only the content can be refused.
					if !errors.Is(st.Err, attestation.ErrMalformed) {
						t.Fatalf("statement %d: Err %q is not ErrMalformed", i+1, st.Err)
					}
					continue
				}
				checkAccepted(t, a, st)
			}
		}

		// With a key: whatever is accepted, the key verified.
		a, err = attestation.Open(data, attestation.Options{Verifiers: []signing.Verifier{key}})
		if err != nil {
			oneLine(t, "Open with a key", err)
			return
		}
		for i := range a.Statements {
			st := &a.Statements[i]
			if st.Err != nil {
				oneLine(t, fmt.Sprintf("statement %d with a key", i+1), st.Err)
				continue
			}
			if !st.Verified || !slices.Contains(st.KeyIDs, key.KeyID()) || st.Signatures == 0 {
				t.Fatalf("statement %d accepted, not verified by the key: %+v", i+1, st)
			}
			checkAccepted(t, a, st)
		}

		if _, err := attestation.CheckUpstream(data, attestation.Trust{}, strings.Repeat("ab", 32)); err != nil {
			oneLine(t, "CheckUpstream", err)
		}
	})
}

// checkAccepted checks what an accepted statement promises: an in-toto
// payload type, a payload that is a strict JSON object, the header fields
// read from it, and that Pick finds it by its predicate type.
//
// It does not require a predicate type: Open leaves the statement and
// predicate types to its callers (CheckUpstream takes any statement with
// the right subject).
func checkAccepted(t *testing.T, a *attestation.Attestation, st *attestation.Statement) {
	t.Helper()
	if st.PayloadType != signing.PayloadType {
		t.Fatalf("statement %d accepted with payloadType %q", st.Line, st.PayloadType)
	}
	var head map[string]json.RawMessage
	if err := signing.UnmarshalStrict(st.Payload, &head); err != nil {
		t.Fatalf("statement %d accepted, payload not strict JSON: %v", st.Line, err)
	}
	for key, got := range map[string]string{"_type": st.Type, "predicateType": st.PredicateType} {
		var want string
		if raw, ok := head[key]; ok {
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatalf("statement %d accepted, %s %s is not a string", st.Line, key, raw)
			}
		}
		if got != want {
			t.Fatalf("statement %d: %s %q, the payload says %q", st.Line, key, got, want)
		}
	}
	picked, err := a.Pick(st.PredicateType)
	switch {
	case errors.Is(err, attestation.ErrAmbiguous):
	case err != nil:
		t.Fatalf("statement %d: Pick(%q): %v", st.Line, st.PredicateType, err)
	case picked != st:
		t.Fatalf("statement %d: Pick(%q) returns statement %d", st.Line, st.PredicateType, picked.Line)
	}
}

func oneLine(t *testing.T, what string, err error) {
	t.Helper()
	if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("%s error is not one line: %q", what, msg)
	}
}

func unsignedLine(t testing.TB, payloadType string, payload []byte) []byte {
	t.Helper()
	b, err := signing.Envelope{PayloadType: payloadType, Payload: payload}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
