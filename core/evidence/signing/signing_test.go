package signing_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"github.com/mmbuild/mmbuild/internal/testkeys"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

const statement = `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicate":{}}`

// keys caches one generated key pair per algorithm (RSA is slow).
var keys = map[signing.Algorithm][2][]byte{}

func keyPair(t testing.TB, alg signing.Algorithm) (signing.Signer, signing.Verifier) {
	t.Helper()
	kp, ok := keys[alg]
	if !ok {
		priv, pub, err := signing.Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		kp = [2][]byte{priv, pub}
		keys[alg] = kp
	}
	s, err := signing.LoadSigner(kp[0])
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.LoadVerifier(kp[1])
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func freshPair(t testing.TB, alg signing.Algorithm) (signing.Signer, signing.Verifier) {
	t.Helper()
	return testkeys.Of(t, alg)
}

func sign(t testing.TB, payload string, signers ...signing.Signer) *signing.Envelope {
	t.Helper()
	line, err := signing.SignStatement(context.Background(), []byte(payload), signers...)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsRune(line, '\n') {
		t.Fatalf("envelope is not one line: %s", line)
	}
	env, err := signing.ParseEnvelope(line)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestRoundTripEachKeyType(t *testing.T) {
	for _, alg := range signing.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			s, v := keyPair(t, alg)
			if s.KeyID() != v.KeyID() || s.Algorithm() != alg || v.Algorithm() != alg {
				t.Fatalf("signer %s/%s, verifier %s/%s", s.KeyID(), s.Algorithm(), v.KeyID(), v.Algorithm())
			}
			env := sign(t, statement, s)
			if env.PayloadType != signing.PayloadType || len(env.Signatures) != 1 || env.Signatures[0].KeyID != s.KeyID() {
				t.Fatalf("envelope %+v", env)
			}
			payload, ids, err := signing.VerifyEnvelope(env, 1, v)
			if err != nil {
				t.Fatal(err)
			}
			if string(payload) != statement || len(ids) != 1 || ids[0] != v.KeyID() {
				t.Fatalf("payload %q ids %v", payload, ids)
			}
		})
	}
}

func TestRejections(t *testing.T) {
	s, v := keyPair(t, signing.ECDSAP256)
	_, other := freshPair(t, signing.ECDSAP256)
	tests := []struct {
		name   string
		mutate func(*signing.Envelope)
		keys   []signing.Verifier
		want   error
	}{
		{"tampered payload", func(e *signing.Envelope) { e.Payload = bytes.Replace(e.Payload, []byte(`"a"`), []byte(`"b"`), 1) }, nil, signing.ErrNotVerified},
		{"tampered signature", func(e *signing.Envelope) { e.Signatures[0].Sig[len(e.Signatures[0].Sig)-1] ^= 1 }, nil, signing.ErrNotVerified},
		{"wrong key", func(*signing.Envelope) {}, []signing.Verifier{other}, signing.ErrNotVerified},
		{"no signatures", func(e *signing.Envelope) { e.Signatures = nil }, nil, signing.ErrUnsigned},
		{"payload type changed", func(e *signing.Envelope) { e.PayloadType = "application/json" }, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := sign(t, statement, s)
			tt.mutate(env)
			ks := tt.keys
			if ks == nil {
				ks = []signing.Verifier{v}
			}
			_, _, err := signing.VerifyEnvelope(env, 1, ks...)
			if err == nil {
				t.Fatal("verified")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestThresholdTwoKeys(t *testing.T) {
	s1, v1 := keyPair(t, signing.ECDSAP256)
	s2, v2 := keyPair(t, signing.Ed25519)
	both := sign(t, statement, s1, s2)
	_, ids, err := signing.VerifyEnvelope(both, 2, v1, v2)
	if err != nil || len(ids) != 2 {
		t.Fatalf("ids %v err %v", ids, err)
	}
	// Order of keys does not matter.
	if _, _, err := signing.VerifyEnvelope(both, 2, v2, v1); err != nil {
		t.Fatal(err)
	}
	one := sign(t, statement, s1)
	_, ids, err = signing.VerifyEnvelope(one, 2, v1, v2)
	if !errors.Is(err, signing.ErrNotVerified) || len(ids) != 1 {
		t.Fatalf("one signature, threshold 2: ids %v err %v", ids, err)
	}
	// The same key twice counts once.
	if _, _, err := signing.VerifyEnvelope(one, 2, v1, v1); err == nil {
		t.Fatal("one key given twice met threshold 2")
	}
	// Two signatures by the same key count once.
	twice := sign(t, statement, s1, s1)
	if _, _, err := signing.VerifyEnvelope(twice, 2, v1, v2); err == nil {
		t.Fatal("two signatures by one key met threshold 2")
	}
	if _, _, err := signing.VerifyEnvelope(both, 3, v1, v2); err == nil {
		t.Fatal("threshold above the number of keys accepted")
	}
	if _, _, err := signing.VerifyEnvelope(both, 0, v1, v2); err == nil {
		t.Fatal("threshold 0 accepted")
	}
}

func TestKeyIDIsOnlyAHint(t *testing.T) {
	s, v := keyPair(t, signing.ECDSAP256)
	env := sign(t, statement, s)
	for _, hint := range []string{"", "wrong", strings.Repeat("0", 64)} {
		env.Signatures[0].KeyID = hint
		if _, _, err := signing.VerifyEnvelope(env, 1, v); err != nil {
			t.Fatalf("keyid %q: %v", hint, err)
		}
	}
	// A signature whose hint names the key but which another key made fails.
	o, _ := freshPair(t, signing.ECDSAP256)
	env = sign(t, statement, o)
	env.Signatures[0].KeyID = v.KeyID()
	if _, _, err := signing.VerifyEnvelope(env, 1, v); err == nil {
		t.Fatal("keyid hint made a foreign signature verify")
	}
}

func TestKeyIDIsSHA256OfPKIX(t *testing.T) {
	for _, alg := range signing.Algorithms() {
		_, pubPEM, err := signing.Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(pubPEM)
		if block == nil || block.Type != "PUBLIC KEY" {
			t.Fatalf("%s: public key PEM %q", alg, pubPEM)
		}
		sum := sha256.Sum256(block.Bytes)
		v, err := signing.LoadVerifier(pubPEM)
		if err != nil {
			t.Fatal(err)
		}
		if v.KeyID() != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: key id %s, want %x", alg, v.KeyID(), sum)
		}
	}
}

func TestGeneratedFormats(t *testing.T) {
	for _, alg := range signing.Algorithms() {
		priv, pub, err := signing.Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		pb, _ := pem.Decode(priv)
		if pb == nil || pb.Type != "PRIVATE KEY" {
			t.Fatalf("%s: private key PEM type %v", alg, pb)
		}
		k, err := x509.ParsePKCS8PrivateKey(pb.Bytes)
		if err != nil {
			t.Fatalf("%s: not PKCS#8: %v", alg, err)
		}
		if r, ok := k.(*rsa.PrivateKey); ok && r.N.BitLen() != 3072 {
			t.Fatalf("RSA key of %d bits", r.N.BitLen())
		}
		ub, _ := pem.Decode(pub)
		if _, err := x509.ParsePKIXPublicKey(ub.Bytes); err != nil {
			t.Fatalf("%s: not PKIX: %v", alg, err)
		}
	}
}

func TestECDSASignatureIsDER(t *testing.T) {
	s, v := keyPair(t, signing.ECDSAP256)
	env := sign(t, statement, s)
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(env.Signatures[0].Sig, &sig)
	if err != nil || len(rest) != 0 {
		t.Fatalf("signature is not ASN.1 DER: %v", err)
	}
	// And it verifies with the standard library over sha256(PAE).
	h := sha256.Sum256(signing.PAE(signing.PayloadType, env.Payload))
	if !ecdsa.VerifyASN1(v.Public().(*ecdsa.PublicKey), h[:], env.Signatures[0].Sig) {
		t.Fatal("crypto/ecdsa does not verify the signature")
	}
}

func TestLoadOtherPEMForms(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	if _, err := signing.LoadSigner(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})); err != nil {
		t.Fatalf("SEC 1 EC key: %v", err)
	}
	// Whitespace around a secret's value is fine.
	priv, pub, _ := signing.Generate(signing.Ed25519)
	if _, err := signing.LoadSigner(append(append([]byte("\n  "), priv...), "\n\n"...)); err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"public key as signer":   pub,
		"not PEM":                []byte("hello"),
		"two blocks":             append(append([]byte{}, priv...), priv...),
		"encrypted":              pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}),
		"cosign encrypted":       pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: []byte{1}}),
		"P-384":                  pkcs8(t, mustEC(t, elliptic.P384())),
		"RSA 1024":               pkcs8(t, mustRSA(t, 1024)),
		"garbage in PRIVATE KEY": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("xx")}),
	}
	for name, data := range bad {
		if _, err := signing.LoadSigner(data); err == nil {
			t.Errorf("%s: LoadSigner accepted it", name)
		}
	}
	if _, err := signing.LoadSigner(bad["encrypted"]); !errors.Is(err, signing.ErrEncryptedKey) {
		t.Errorf("encrypted key: %v", err)
	}
	if _, err := signing.LoadVerifier(priv); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("private key as verifier: %v", err)
	}
}

func mustEC(t *testing.T, c elliptic.Curve) any {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRSA(t *testing.T, bits int) any {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pkcs8(t *testing.T, k any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestReadBundleForms(t *testing.T) {
	s1, _ := keyPair(t, signing.ECDSAP256)
	s2, _ := keyPair(t, signing.Ed25519)
	line1, _ := signing.SignStatement(context.Background(), []byte(statement), s1)
	line2, _ := signing.SignStatement(context.Background(), []byte(statement), s2)
	bundle, err := signing.Bundle(line1, line2)
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	_ = json.Indent(&indented, line1, "", "  ")

	for name, tt := range map[string]struct {
		data    []byte
		n       int
		signed  bool
		payload string
	}{
		"plain statement":    {[]byte(statement + "\n"), 1, false, statement + "\n"},
		"indented statement": {indentJSON(statement), 1, false, string(indentJSON(statement))},
		"single envelope":    {line1, 1, true, statement},
		"indented envelope":  {indented.Bytes(), 1, true, statement},
		"jsonl bundle":       {bundle, 2, true, statement},
		"jsonl, blank lines": {[]byte("\n" + string(line1) + "\n\n" + string(line2) + "\n"), 2, true, statement},
		"jsonl, CRLF":        {[]byte(string(line1) + "\r\n" + string(line2) + "\r\n"), 2, true, statement},
		"url-safe base64":    {urlSafe(t, line1), 1, true, statement},
	} {
		t.Run(name, func(t *testing.T) {
			envs, err := signing.ReadBundle(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if len(envs) != tt.n {
				t.Fatalf("%d envelopes", len(envs))
			}
			if envs[0].Signed() != tt.signed || string(envs[0].Payload) != tt.payload || envs[0].PayloadType != signing.PayloadType {
				t.Fatalf("envelope %+v", envs[0])
			}
		})
	}

	bad := map[string]string{
		"empty":                 "  \n",
		"array":                 "[]",
		"not json":              "hello",
		"neither":               `{"a":1}`,
		"both":                  `{"_type":"x","payloadType":"y"}`,
		"statement in jsonl":    string(line1) + "\n" + statement,
		"duplicate key":         `{"_type":"a","_type":"b"}`,
		"case-folded duplicate": `{"payloadType":"a","PayloadType":"b","payload":"","signatures":[]}`,
		"unknown field":         `{"payloadType":"a","payload":"","signatures":[],"extra":1}`,
		"key in another case":   `{"payloadType":"a","payload":"","signatures":[{"KeyID":"x","sig":"AA=="}]}`,
		"bad base64":            `{"payloadType":"a","payload":"!!","signatures":[]}`,
		"empty signature":       `{"payloadType":"a","payload":"","signatures":[{"keyid":"","sig":""}]}`,
		"trailing garbage":      string(line1) + " x",
		"invalid utf-8":         "{\"_type\":\"\xff\"}",
		"truncated":             string(line1[:len(line1)-3]),
		"deep":                  strings.Repeat(`{"_type":`, 200) + "1" + strings.Repeat("}", 200),
	}
	for name, data := range bad {
		if _, err := signing.ReadBundle([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	big := append([]byte(statement), bytes.Repeat([]byte(" "), signing.MaxBundleSize)...)
	if _, err := signing.ReadBundle(big); err == nil || !strings.Contains(err.Error(), "MiB") {
		t.Errorf("oversized: %v", err)
	}
}

func indentJSON(s string) []byte {
	var b bytes.Buffer
	_ = json.Indent(&b, []byte(s), "", "  ")
	b.WriteByte('\n')
	return b.Bytes()
}

// urlSafe re-encodes an envelope's base64 in the URL-safe alphabet without
// padding, which DSSE allows.
func urlSafe(t *testing.T, line []byte) []byte {
	var w map[string]any
	if err := json.Unmarshal(line, &w); err != nil {
		t.Fatal(err)
	}
	re := func(s string) string {
		b, _ := base64.StdEncoding.DecodeString(s)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	w["payload"] = re(w["payload"].(string))
	for _, s := range w["signatures"].([]any) {
		m := s.(map[string]any)
		m["sig"] = re(m["sig"].(string))
	}
	out, _ := json.Marshal(w)
	return out
}

func TestWriteKeyPair(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "mmbuild")
	kp, err := signing.WriteKeyPair(prefix, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if kp.Algorithm != signing.ECDSAP256 || len(kp.KeyID) != 64 {
		t.Fatalf("%+v", kp)
	}
	for path, mode := range map[string]os.FileMode{prefix + ".key": 0o600, prefix + ".pub": 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	priv, _ := os.ReadFile(prefix + ".key")
	if _, err := signing.WriteKeyPair(prefix, signing.Ed25519, false); err == nil {
		t.Fatal("overwrote without force")
	}
	if again, _ := os.ReadFile(prefix + ".key"); !bytes.Equal(again, priv) {
		t.Fatal("private key changed by a refused write")
	}
	kp2, err := signing.WriteKeyPair(prefix, signing.Ed25519, true)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(prefix + ".pub")
	v, err := signing.LoadVerifier(pub)
	if err != nil || v.KeyID() != kp2.KeyID || v.Algorithm() != signing.Ed25519 {
		t.Fatalf("after --force: %v %+v", err, kp2)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("left temporary files: %v", entries)
	}
}

func TestParseAlgorithm(t *testing.T) {
	for in, want := range map[string]signing.Algorithm{"": signing.ECDSAP256, "ecdsa-p256": signing.ECDSAP256, "ED25519": signing.Ed25519, "rsa": signing.RSA} {
		got, err := signing.ParseAlgorithm(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := signing.ParseAlgorithm("dsa"); err == nil {
		t.Error("dsa accepted")
	}
}

func FuzzReadBundle(f *testing.F) {
	s, _ := keyPair(f, signing.ECDSAP256)
	line, _ := signing.SignStatement(context.Background(), []byte(statement), s)
	f.Add([]byte(statement))
	f.Add(line)
	f.Add(append(append(append([]byte{}, line...), '\n'), line...))
	f.Add([]byte(`{"payloadType":"a","payload":"e30=","signatures":[{"keyid":"k","sig":"AA=="}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		envs, err := signing.ReadBundle(data)
		if err != nil {
			return
		}
		for i := range envs {
			// Whatever parsed must re-encode and parse back the same.
			b, err := envs[i].MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			back, err := signing.ParseEnvelope(b)
			if err != nil {
				t.Fatalf("re-encoded envelope does not parse: %v\n%s", err, b)
			}
			if !bytes.Equal(back.Payload, envs[i].Payload) || len(back.Signatures) != len(envs[i].Signatures) {
				t.Fatal("round trip changed the envelope")
			}
		}
	})
}
