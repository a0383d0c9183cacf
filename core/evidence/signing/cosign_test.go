package signing_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// TestCosignVerifiesOurEnvelope checks interop with cosign (skipped when
// cosign is not on PATH): an envelope signed here verifies with
//
//	cosign verify-blob-attestation --key KEY.pub --type slsaprovenance02 \
//	  --insecure-ignore-tlog --signature ENVELOPE ARTIFACT
//
// offline, and a tampered one or the wrong artifact does not.
func TestCosignVerifiesOurEnvelope(t *testing.T) {
	cosign, err := exec.LookPath("cosign")
	if err != nil {
		t.Skip("cosign not on PATH")
	}
	dir := t.TempDir()
	artifact := filepath.Join(dir, "app.tar.gz")
	content := []byte("the artifact\n")
	if err := os.WriteFile(artifact, content, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	st, err := provenance.New(provenance.Build{
		HandlerID: "make",
		Params:    []string{"dist"},
		Subjects:  []provenance.Resource{{URI: "app.tar.gz", Digest: provenance.Digest{"sha256": hex.EncodeToString(sum[:])}}},
		Started:   time.Unix(1700000000, 0),
		Finished:  time.Unix(1700000060, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := provenance.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.tar.gz")
	if err := os.WriteFile(other, []byte("something else\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// cosign verifies DSSE with ECDSA keys (ours is the default type) and
	// Ed25519; for RSA it expects PKCS#1 v1.5 signatures, ours are PSS.
	for _, alg := range []signing.Algorithm{signing.ECDSAP256, signing.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			priv, pub, err := signing.Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			s, err := signing.LoadSigner(priv)
			if err != nil {
				t.Fatal(err)
			}
			line, err := signing.SignStatement(context.Background(), stmt, s)
			if err != nil {
				t.Fatal(err)
			}
			bundle, _ := signing.Bundle(line)
			pubPath := filepath.Join(dir, string(alg)+".pub")
			envPath := filepath.Join(dir, string(alg)+".intoto.jsonl")
			if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(envPath, bundle, 0o644); err != nil {
				t.Fatal(err)
			}
			run := func(sig, blob string) (string, error) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, cosign, "verify-blob-attestation",
					"--key", pubPath, "--type", "slsaprovenance02", "--insecure-ignore-tlog",
					"--signature", sig, blob)
				cmd.Env = append(os.Environ(), "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"))
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			if out, err := run(envPath, artifact); err != nil || !strings.Contains(out, "Verified OK") {
				t.Fatalf("cosign rejected our envelope: %v\n%s", err, out)
			}
			if out, err := run(envPath, other); err == nil {
				t.Fatalf("cosign verified the envelope against another artifact:\n%s", out)
			} else {
				t.Logf("another artifact: %s", lastLine(out))
			}
			tampered := strings.Replace(string(bundle), `"sig":"`, `"sig":"AAAA`, 1)
			tamperedPath := filepath.Join(dir, string(alg)+"-tampered.intoto.jsonl")
			if err := os.WriteFile(tamperedPath, []byte(tampered), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := run(tamperedPath, artifact); err == nil {
				t.Fatalf("cosign verified a tampered envelope:\n%s", out)
			} else {
				t.Logf("tampered: %s", lastLine(out))
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
