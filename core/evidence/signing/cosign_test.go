package signing_test

import (
	"bytes"
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
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// cosignFixture is a folder with the artifact app.tar.gz, another file
// other.tar.gz, and the build whose one subject is the artifact.
func cosignFixture(t *testing.T) (dir, artifact, other string, build provenance.Build) {
	t.Helper()
	dir = t.TempDir()
	artifact = filepath.Join(dir, "app.tar.gz")
	content := []byte("the artifact\n")
	if err := os.WriteFile(artifact, content, 0o644); err != nil {
		t.Fatal(err)
	}
	other = filepath.Join(dir, "other.tar.gz")
	if err := os.WriteFile(other, []byte("something else\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	build = provenance.Build{
		HandlerID: "make",
		Params:    []string{"dist"},
		Subjects:  []provenance.Resource{{URI: "app.tar.gz", Digest: provenance.Digest{"sha256": hex.EncodeToString(sum[:])}}},
		Run:       provenance.RunFacts{Started: time.Unix(1700000000, 0), Finished: time.Unix(1700000060, 0)},
	}
	return dir, artifact, other, build
}

// TestCosignVerifiesOurEnvelope checks interop with cosign (cosign found by
// testservers.Tool): an envelope signed here verifies with
//
//	cosign verify-blob-attestation --key KEY.pub --type slsaprovenance02 \
//	  --insecure-ignore-tlog --signature ENVELOPE ARTIFACT
//
// offline, and a tampered one or the wrong artifact does not.
func TestCosignVerifiesOurEnvelope(t *testing.T) {
	cosign := testservers.Tool(t, "cosign")
	dir, artifact, other, build := cosignFixture(t)
	stmt, err := provenance.Encode(build, provenance.V02)
	if err != nil {
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

// TestCosign3VerifiesOurSigstoreBundle checks interop with cosign 3
// (installed as cosign3 by .ci/install-test-servers.sh; skipped when not on
// PATH): the Sigstore bundle v0.3 mmbuild writes for a key-signed
// statement, of either SLSA version, verifies offline with
//
//	cosign verify-blob-attestation --bundle B --key KEY.pub --type T \
//	  --insecure-ignore-tlog ARTIFACT
//
// and a tampered bundle or another artifact does not. ReadForm reads the
// bundle back to the same envelope.
func TestCosign3VerifiesOurSigstoreBundle(t *testing.T) {
	cosign := testservers.Tool(t, "cosign3")
	dir, artifact, other, build := cosignFixture(t)
	for _, f := range []struct {
		format     provenance.Format
		cosignType string
	}{{provenance.V02, "slsaprovenance02"}, {provenance.V1, "slsaprovenance1"}} {
		stmt, err := provenance.Encode(build, f.format)
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range []signing.Algorithm{signing.ECDSAP256, signing.Ed25519} {
			t.Run(string(f.format)+"/"+string(alg), func(t *testing.T) {
				priv, pub, err := signing.Generate(alg)
				if err != nil {
					t.Fatal(err)
				}
				s, err := signing.LoadSigner(priv)
				if err != nil {
					t.Fatal(err)
				}
				env, err := signing.Sign(context.Background(), signing.PayloadType, stmt, s)
				if err != nil {
					t.Fatal(err)
				}
				bundle, err := signing.SigstoreBundle(env)
				if err != nil {
					t.Fatal(err)
				}
				back, mediaType, err := signing.ReadForm(bundle)
				if err != nil || mediaType != signing.SigstoreMediaType || len(back) != 1 ||
					!bytes.Equal(back[0].Payload, stmt) || back[0].Signatures[0].KeyID != s.KeyID() {
					t.Fatalf("ReadForm: %v %q %+v", err, mediaType, back)
				}
				pubPath := filepath.Join(dir, string(f.format)+string(alg)+".pub")
				bundlePath := filepath.Join(dir, string(f.format)+string(alg)+".sigstore.json")
				if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(bundlePath, bundle, 0o644); err != nil {
					t.Fatal(err)
				}
				run := func(bundle, blob string) (string, error) {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					cmd := exec.CommandContext(ctx, cosign, "verify-blob-attestation",
						"--key", pubPath, "--type", f.cosignType, "--insecure-ignore-tlog",
						"--bundle", bundle, blob)
					cmd.Env = append(os.Environ(), "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"))
					out, err := cmd.CombinedOutput()
					return string(out), err
				}
				if out, err := run(bundlePath, artifact); err != nil || !strings.Contains(out, "Verified OK") {
					t.Fatalf("cosign 3 rejected our bundle: %v\n%s\n%s", err, out, bundle)
				}
				if out, err := run(bundlePath, other); err == nil {
					t.Fatalf("cosign 3 verified the bundle against another artifact:\n%s", out)
				} else {
					t.Logf("another artifact: %s", lastLine(out))
				}
				tampered := env
				tampered.Signatures = []signing.Signature{{KeyID: s.KeyID(), Sig: append([]byte{1, 2, 3}, env.Signatures[0].Sig[3:]...)}}
				tb, _ := signing.SigstoreBundle(tampered)
				tamperedPath := filepath.Join(dir, string(f.format)+string(alg)+"-tampered.sigstore.json")
				if err := os.WriteFile(tamperedPath, tb, 0o644); err != nil {
					t.Fatal(err)
				}
				if out, err := run(tamperedPath, artifact); err == nil {
					t.Fatalf("cosign 3 verified a tampered bundle:\n%s", out)
				} else {
					t.Logf("tampered: %s", lastLine(out))
				}
			})
		}
	}
}
