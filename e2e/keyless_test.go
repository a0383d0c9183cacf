package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

const keylessWho = "builder@example.com"

// TestKeylessSignedHello builds examples/hello with signing: {keyless:
// true} against a real local Sigstore stack, the token in
// $SIGSTORE_ID_TOKEN: cosign 3 verifies the bundle by identity and refuses
// another identity, as mmbuild verify does. Before that, each way signing
// can fail (a token expired or for another audience, Fulcio, Rekor or the
// TSA answering 5xx or down) fails the run in one line without the token,
// and publishes nothing. Then mmbuild verify accepts what cosign 3 signs
// keylessly against the same stack, and refuses such a bundle whose log
// entry is another artifact's.
func TestKeylessSignedHello(t *testing.T) {
	t.Parallel()
	s := testservers.StartSigstore(t)
	in := testenv.NewInstall(t)
	dir := testenv.Example(t, "hello")
	cfg := filepath.Join(dir, "mmbuild.yaml")
	orig, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(orig, []byte("signing: {keyless: true}\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	engineMustRun(t, in, dir, "plugins", "lock")
	instance := []string{"--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot}
	base := in.Env

	for _, tt := range []struct {
		name  string
		token string
		front *testservers.Front
		down  bool
		want  string
	}{
		{name: "expired token", token: s.Token(t, keylessWho, testservers.WithTokenExpired()), want: "expired at"},
		{name: "wrong audience", token: s.Token(t, keylessWho, testservers.WithTokenAudience("other")), want: "audience"},
		{name: "Fulcio 503", front: s.Fulcio, want: "Fulcio at"},
		{name: "Rekor down", front: s.Rekor, down: true, want: "rekor"},
		{name: "TSA 500", front: s.TSA, want: "timestamp authority"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token
			if tok == "" {
				tok = s.Token(t, keylessWho)
			}
			if f := tt.front; f != nil {
				if tt.down {
					f.Down()
				} else {
					f.Fail(http.StatusServiceUnavailable)
				}
				defer f.Up()
			}
			in.Env = append(append([]string(nil), base...), "SIGSTORE_ID_TOKEN="+tok)
			r := in.Run(dir, append([]string{"run"}, instance...)...)
			line := errorLine(t, r)
			if r.Code == 0 || !strings.Contains(line, tt.want) || strings.Contains(r.Stdout+r.Stderr, tok) {
				t.Fatalf("exit %d, error %q: want one line with %q and no token\n%s", r.Code, line, tt.want, r.Stderr)
			}
			assertNothingPublished(t, dir)
		})
	}

	tok := s.Token(t, keylessWho)
	in.Env = append(append([]string(nil), base...), "SIGSTORE_ID_TOKEN="+tok)
	r := engineMustRun(t, in, dir, append([]string{"run"}, instance...)...)
	if leaked := engineFilesContaining(t, tok, dir); len(leaked) > 0 || strings.Contains(r.Stdout+r.Stderr, tok) {
		t.Fatalf("the identity token was written to %v or printed", leaked)
	}
	bundle := filepath.Join(dir, "out/provenance.sigstore.json")
	artifact := filepath.Join(dir, "dist/hello.tar.gz")
	cosignVerify := func(identity string) (string, bool) {
		return cosign3Verified(t, nil, "verify-blob-attestation", "--bundle", bundle, "--type", "slsaprovenance02",
			"--certificate-identity", identity, "--certificate-oidc-issuer", s.Issuer(),
			"--trusted-root", s.TrustedRoot, "--insecure-ignore-sct", artifact)
	}
	out, ok := cosignVerify(keylessWho)
	if !ok {
		t.Fatalf("cosign 3 rejected the keyless bundle:\n%s", out)
	}
	t.Logf("cosign 3 verify-blob-attestation --certificate-identity %s --certificate-oidc-issuer %s --trusted-root ...:\n%s", keylessWho, s.Issuer(), out)
	out, ok = cosignVerify("someone-else@example.com")
	if ok {
		t.Fatalf("cosign 3 accepted another identity:\n%s", out)
	}
	t.Logf("cosign 3 with another identity refuses:\n%s", out)
	verify := func(identity, att string, subjects ...string) testenv.Result {
		return in.Run(dir, append([]string{"verify", "--attestation", att, "--certificate-identity", identity,
			"--certificate-oidc-issuer", s.Issuer(), "--trusted-root", s.TrustedRoot}, subjects...)...)
	}
	if r := verify(keylessWho, bundle, artifact); r.Code != 0 || !strings.Contains(r.Stdout, "certificate for "+keylessWho) {
		t.Fatalf("mmbuild verify refused the keyless build (exit %d):\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := verify("someone-else@example.com", bundle, artifact); r.Code != 1 || !strings.Contains(errorLine(t, r), "verification failed: signature") {
		t.Fatalf("mmbuild verify accepted another identity (exit %d):\n%s%s", r.Code, r.Stdout, r.Stderr)
	}

	// What cosign 3 signs keylessly, mmbuild verifies.
	work := t.TempDir()
	predicate := filepath.Join(work, "predicate.json")
	if err := os.WriteFile(predicate, []byte(`{"buildDefinition":{"buildType":"https://example.com/build/v1","externalParameters":{"workflow":"release"}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	attest := func(blob string) string {
		b := blob + ".sigstore.json"
		out, err := cosign3(t, nil, "attest-blob", "--yes", "--predicate", predicate, "--type", "slsaprovenance1",
			"--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot,
			"--identity-token", s.OIDC.TokenFile(t, keylessWho), "--bundle", b, blob)
		if err != nil {
			t.Fatalf("cosign 3 attest-blob: %v\n%s", err, out)
		}
		return b
	}
	one, two := filepath.Join(work, "one.txt"), filepath.Join(work, "two.txt")
	for _, f := range []string{one, two} {
		if err := os.WriteFile(f, []byte("artifact "+filepath.Base(f)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b1, b2 := attest(one), attest(two)
	if r := verify(keylessWho, b1, one); r.Code != 0 {
		t.Fatalf("mmbuild verify refused cosign 3's keyless bundle (exit %d):\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := verify("someone-else@example.com", b1, one); r.Code != 1 {
		t.Fatalf("mmbuild verify accepted cosign 3's bundle for another identity:\n%s", r.Stdout)
	}
	// The first bundle with the second one's log entry.
	var x, y map[string]any
	if err := json.Unmarshal(mustRead(t, b1), &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mustRead(t, b2), &y); err != nil {
		t.Fatal(err)
	}
	x["verificationMaterial"].(map[string]any)["tlogEntries"] = y["verificationMaterial"].(map[string]any)["tlogEntries"]
	grafted := filepath.Join(work, "grafted.sigstore.json")
	data, _ := json.Marshal(x)
	if err := os.WriteFile(grafted, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := verify(keylessWho, grafted, one); r.Code != 1 || !strings.Contains(errorLine(t, r), "verification failed: signature") {
		t.Fatalf("mmbuild verify accepted a bundle whose log entry is another artifact's (exit %d):\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}
