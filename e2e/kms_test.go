package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// TestKMSSignedHello builds examples/hello signed with an awskms:// key of
// a real local-kms (signing.key in the config): mmbuild verify and cosign
// 3 accept the Sigstore bundle with the KMS key's public key. A KMS key
// that does not exist or may not sign (config or --sign-key) fails the run
// in one line before the build, and nothing is published.
func TestKMSSignedHello(t *testing.T) {
	t.Parallel()
	kms := testservers.StartLocalKMS(t)
	in := testenv.NewInstall(t)
	in.Env = append(in.Env, kms.Env...)
	dir := testenv.Example(t, "hello")
	cfg := filepath.Join(dir, "mmbuild.yaml")
	orig, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	withKey := func(t *testing.T, key string) {
		t.Helper()
		if err := os.WriteFile(cfg, append(append([]byte(nil), orig...), []byte("signing: {key: \""+key+"\"}\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pub := filepath.Join(t.TempDir(), "kms.pub")
	if err := os.WriteFile(pub, kms.SignKey.PublicKeyPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	engineMustRun(t, in, dir, "plugins", "lock")

	for _, tt := range []struct {
		name, key string
		flag      bool // --sign-key instead of signing.key
		want      string
	}{
		{"no such key", kms.URI("alias/nope"), false, "NotFoundException"},
		{"AES key", kms.EncryptKey.URI, false, "signing.key"},
		{"encryption key, --sign-key", kms.EncryptRSAKey.URI, true, "may not sign"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"run"}
			if tt.flag {
				withKey(t, kms.SignKey.URI)
				args = append(args, "--sign-key", tt.key)
			} else {
				withKey(t, tt.key)
			}
			line := engineMustFail(t, in, dir, args, tt.want, "KMS key")
			if strings.Contains(line, kms.SecretAccessKey) {
				t.Fatalf("the error holds the KMS credential: %s", line)
			}
			assertNothingPublished(t, dir)
			if exists(filepath.Join(dir, "dist")) {
				t.Fatal("the build ran with a KMS key that cannot sign")
			}
		})
	}

	withKey(t, kms.SignKey.URI)
	engineMustRun(t, in, dir, "run")
	bundle := filepath.Join(dir, "out/provenance.sigstore.json")
	artifact := filepath.Join(dir, "dist/hello.tar.gz")
	r := engineMustRun(t, in, dir, "verify", "--key", pub, "--attestation", bundle, artifact)
	if !strings.Contains(r.Stdout, "1 of 1 key verified") {
		t.Fatalf("verify:\n%s", r.Stdout)
	}
	if out, ok := cosign3Verified(t, nil, "verify-blob-attestation", "--key", pub, "--type", "slsaprovenance02",
		"--insecure-ignore-tlog", "--bundle", bundle, artifact); !ok {
		t.Fatalf("cosign 3 rejected the KMS-signed bundle:\n%s", out)
	}
	// cosign 3 also verifies with the KMS key itself.
	out, ok := cosign3Verified(t, kms.Env, "verify-blob-attestation", "--key", kms.SignKey.URI, "--type", "slsaprovenance02",
		"--insecure-ignore-tlog", "--bundle", bundle, artifact)
	if !ok {
		t.Fatalf("cosign 3 with the awskms:// key rejected the bundle:\n%s", out)
	}
	t.Logf("cosign 3: %s", lastLine(out))
}
