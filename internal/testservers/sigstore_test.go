package testservers

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cosign3 runs cosign v3 with env added to a clean environment (its own
// $HOME, so no cache or TUF root from the machine is used) and returns its
// combined output and error.
func cosign3(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Tool(t, "cosign3"), args...)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "TUF_ROOT=" + t.TempDir()}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// artifact writes a small file to sign into a temporary folder, and returns
// the folder and the file.
func artifact(t *testing.T) (dir, blob string) {
	t.Helper()
	dir = t.TempDir()
	blob = filepath.Join(dir, "artifact.txt")
	if err := os.WriteFile(blob, []byte("hello from mmbuild\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, blob
}

// TestSigstoreKeylessCosign signs a blob keylessly with cosign 3 against the
// local stack (Fulcio certificate, Rekor v2 entry with inclusion proof, RFC
// 3161 timestamp) and verifies it by identity: the signer's identity passes,
// another identity and another issuer fail.
func TestSigstoreKeylessCosign(t *testing.T) {
	s := StartSigstore(t)
	dir, blob := artifact(t)
	const who = "builder@example.com"
	bundle := filepath.Join(dir, "artifact.sigstore.json")
	out, err := cosign3(t, nil, "sign-blob", "--yes", "--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot,
		"--identity-token", s.OIDC.TokenFile(t, who), "--bundle", bundle, blob)
	if err != nil {
		t.Fatalf("cosign3 sign-blob: %v\n%s", err, out)
	}
	t.Logf("cosign3 sign-blob:\n%s", out)

	var b struct {
		MediaType            string
		VerificationMaterial struct {
			TlogEntries []struct {
				LogID          struct{ KeyID string } `json:"logId"`
				KindVersion    struct{ Kind, Version string }
				InclusionProof struct{ Checkpoint struct{ Envelope string } }
			}
			TimestampVerificationData struct {
				RFC3161Timestamps []struct{ SignedTimestamp string } `json:"rfc3161Timestamps"`
			}
		}
	}
	raw, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("bundle: %v\n%s", err, raw)
	}
	vm := b.VerificationMaterial
	if len(vm.TlogEntries) != 1 || vm.TlogEntries[0].KindVersion.Version != "0.0.2" ||
		!strings.HasPrefix(vm.TlogEntries[0].InclusionProof.Checkpoint.Envelope, "127.0.0.1\n") {
		t.Errorf("bundle's log entry is not a Rekor v2 entry of the local log with an inclusion proof:\n%s", raw)
	}
	if len(vm.TimestampVerificationData.RFC3161Timestamps) != 1 {
		t.Errorf("bundle has no RFC 3161 timestamp:\n%s", raw)
	}
	// The log's checkpoint is served over HTTP like its tiles.
	resp, err := http.Get(s.Rekor.URL + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(cp), "127.0.0.1\n") {
		t.Errorf("GET %s/checkpoint: %s\n%s", s.Rekor.URL, resp.Status, cp)
	}

	verify := func(identity, issuer string) (string, error) {
		return cosign3(t, nil, "verify-blob", "--bundle", bundle, "--trusted-root", s.TrustedRoot,
			"--certificate-identity", identity, "--certificate-oidc-issuer", issuer,
			"--insecure-ignore-sct", blob) // the stack has no CT log
	}
	if out, err := verify(who, s.Issuer()); err != nil {
		t.Fatalf("cosign3 verify-blob with the signer's identity: %v\n%s", err, out)
	} else {
		t.Logf("cosign3 verify-blob:\n%s", out)
	}
	for _, tt := range []struct{ identity, issuer string }{
		{"someone-else@example.com", s.Issuer()},
		{who, "https://token.actions.githubusercontent.com"},
	} {
		if out, err := verify(tt.identity, tt.issuer); err == nil {
			t.Errorf("cosign3 verify-blob with identity %s of %s passed; want a mismatch:\n%s", tt.identity, tt.issuer, out)
		}
	}
}

// TestLocalKMSCosign signs a blob with cosign 3 and the local-kms key through
// awskms:// (over TLS, trusting the test CA), logged in the local stack's
// Rekor v2, and verifies it with the key's public key; a key that may not
// sign and a key that does not exist fail.
func TestLocalKMSCosign(t *testing.T) {
	s := StartSigstore(t)
	k := StartLocalKMS(t)
	dir, blob := artifact(t)
	pub := filepath.Join(dir, "kms.pub")
	if err := os.WriteFile(pub, k.SignKey.PublicKeyPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	sign := func(uri, bundle string) (string, error) {
		return cosign3(t, k.Env, "sign-blob", "--yes", "--key", uri, "--signing-config", s.SigningConfig,
			"--trusted-root", s.TrustedRoot, "--bundle", bundle, blob)
	}
	bundle := filepath.Join(dir, "artifact.sigstore.json")
	if !strings.HasPrefix(k.SignKey.URI, "awskms://127.0.0.1:") {
		t.Errorf("SignKey.URI = %s, want awskms://127.0.0.1:<port>/alias/...", k.SignKey.URI)
	}
	out, err := sign(k.SignKey.URI, bundle)
	if err != nil {
		t.Fatalf("cosign3 sign-blob --key %s: %v\n%s", k.SignKey.URI, err, out)
	}
	t.Logf("cosign3 sign-blob --key %s:\n%s", k.SignKey.URI, out)
	if out, err := cosign3(t, nil, "verify-blob", "--key", pub, "--bundle", bundle, "--trusted-root", s.TrustedRoot, blob); err != nil {
		t.Fatalf("cosign3 verify-blob --key: %v\n%s", err, out)
	} else {
		t.Logf("cosign3 verify-blob --key:\n%s", out)
	}
	for _, uri := range []string{k.EncryptKey.URI, k.EncryptRSAKey.URI, k.URI("alias/does-not-exist")} {
		if out, err := sign(uri, filepath.Join(dir, "refused.json")); err == nil {
			t.Errorf("cosign3 sign-blob --key %s passed; want a refusal:\n%s", uri, out)
		} else {
			t.Logf("cosign3 sign-blob --key %s: %v\n%s", uri, err, out)
		}
	}
}

// TestSigstoreFailures checks the stack's failure knobs with cosign 3: a
// token that expired or is for another audience, and each service answering
// 503 or down, make keyless signing fail without a bundle; once the service
// is up again, signing works.
func TestSigstoreFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("signs fourteen times, some after retries")
	}
	s := StartSigstore(t)
	_, blob := artifact(t)
	const who = "builder@example.com"
	sign := func(token string) (string, string, error) {
		bundle := filepath.Join(t.TempDir(), "artifact.sigstore.json")
		out, err := cosign3(t, nil, "sign-blob", "--yes", "--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot,
			"--identity-token", token, "--bundle", bundle, blob)
		return bundle, out, err
	}
	tests := []struct {
		name  string
		token []TokenOption
		front *Front
		down  bool
	}{
		{name: "expired token", token: []TokenOption{WithTokenExpired()}},
		{name: "wrong audience", token: []TokenOption{WithTokenAudience("not-sigstore")}},
		{name: "fulcio 503", front: s.Fulcio},
		{name: "fulcio down", front: s.Fulcio, down: true},
		{name: "rekor 503", front: s.Rekor},
		{name: "rekor down", front: s.Rekor, down: true},
		{name: "tsa 503", front: s.TSA},
		{name: "tsa down", front: s.TSA, down: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.front != nil {
				if tt.down {
					tt.front.Down()
				} else {
					tt.front.Fail(http.StatusServiceUnavailable)
				}
			}
			start := time.Now()
			bundle, out, err := sign(s.Token(t, who, tt.token...))
			if err == nil {
				t.Errorf("cosign3 sign-blob passed; want a failure:\n%s", out)
			}
			if _, serr := os.Stat(bundle); serr == nil {
				t.Errorf("cosign3 sign-blob wrote %s although it failed", bundle)
			}
			t.Logf("failed in %v: %v\n%s", time.Since(start).Round(time.Millisecond), err, out)
			if tt.front != nil {
				tt.front.Up()
				if _, out, err := sign(s.Token(t, who)); err != nil {
					t.Errorf("cosign3 sign-blob after Up: %v\n%s", err, out)
				}
			}
		})
	}
}

// TestSigstoreCIIdentities signs keylessly as a GitHub Actions job (its
// token fetched by cosign itself from the issuer's Actions token endpoint)
// and as a GitLab CI job, and verifies each by its workflow identity and
// Fulcio's CI extensions: another repository or issuer fails.
func TestSigstoreCIIdentities(t *testing.T) {
	s := StartSigstore(t)
	_, blob := artifact(t)
	gh := GitHubWorkflow{Repository: "octo-org/hello", Ref: "refs/tags/v1.0.0"}
	gl := GitLabPipeline{ProjectPath: "octo-group/hello"}
	tests := []struct {
		name       string
		env        []string // ambient credentials
		token      string   // or --identity-token
		identity   string
		issuer     string
		sourceRepo string // Fulcio's source repository URI extension
		extra      []string
		wrongExtra []string
	}{
		{
			name: "github", env: s.OIDC.GitHubActionsEnv(t, "", WithGitHubWorkflow(gh)),
			identity: gh.Identity(), issuer: s.OIDC.GitHubIssuer(), sourceRepo: "https://github.com/octo-org/hello",
			extra:      []string{"--certificate-github-workflow-repository", "octo-org/hello", "--certificate-github-workflow-ref", "refs/tags/v1.0.0"},
			wrongExtra: []string{"--certificate-github-workflow-repository", "octo-org/other"},
		},
		{
			name: "gitlab", token: s.OIDC.GitLabToken(t, gl),
			identity: gl.Identity(), issuer: s.OIDC.GitLabIssuer(), sourceRepo: "https://gitlab.com/octo-group/hello",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bundle := filepath.Join(t.TempDir(), "artifact.sigstore.json")
			args := []string{"sign-blob", "--yes", "--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot, "--bundle", bundle}
			if tt.token != "" {
				args = append(args, "--identity-token", tt.token)
			}
			if out, err := cosign3(t, tt.env, append(args, blob)...); err != nil {
				t.Fatalf("cosign3 sign-blob: %v\n%s", err, out)
			}
			cert := bundleCert(t, bundle)
			if got := certExtension(t, cert, "1.3.6.1.4.1.57264.1.12"); got != tt.sourceRepo {
				t.Errorf("certificate's source repository URI = %q, want %q", got, tt.sourceRepo)
			}
			verify := func(identity, issuer string, extra []string) (string, error) {
				return cosign3(t, nil, append([]string{"verify-blob", "--bundle", bundle, "--trusted-root", s.TrustedRoot,
					"--certificate-identity", identity, "--certificate-oidc-issuer", issuer, "--insecure-ignore-sct", blob}, extra...)...)
			}
			if out, err := verify(tt.identity, tt.issuer, tt.extra); err != nil {
				t.Errorf("cosign3 verify-blob as %s of %s: %v\n%s", tt.identity, tt.issuer, err, out)
			}
			if out, err := verify(tt.identity, s.Issuer(), nil); err == nil {
				t.Errorf("cosign3 verify-blob with the email issuer passed:\n%s", out)
			}
			if tt.wrongExtra != nil {
				if out, err := verify(tt.identity, tt.issuer, tt.wrongExtra); err == nil {
					t.Errorf("cosign3 verify-blob with %v passed:\n%s", tt.wrongExtra, out)
				}
			}
		})
	}
}

// bundleCert is the signing certificate of a Sigstore bundle v0.3.
func bundleCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		VerificationMaterial struct {
			Certificate struct {
				RawBytes []byte `json:"rawBytes"`
			}
		}
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c, err := x509.ParseCertificate(b.VerificationMaterial.Certificate.RawBytes)
	if err != nil {
		t.Fatalf("%s: certificate: %v\n%s", path, err, raw)
	}
	return c
}

// certExtension is the value (a DER UTF8String) of the extension oid.
func certExtension(t *testing.T, c *x509.Certificate, oid string) string {
	t.Helper()
	for _, e := range c.Extensions {
		if e.Id.String() == oid {
			var v string
			if _, err := asn1.Unmarshal(e.Value, &v); err != nil {
				t.Fatalf("extension %s: %v", oid, err)
			}
			return v
		}
	}
	return ""
}

// TestSigstoreCTLog signs keylessly against a stack with a CT log: Fulcio's
// certificate carries an SCT from TesseraCT, and cosign 3 verifies it
// without skipping the SCT check. (With the CT log failing, Fulcio retries
// until its client gives up, 30 s for cosign: too slow for a test.)
func TestSigstoreCTLog(t *testing.T) {
	s := StartSigstore(t, WithCTLog())
	_, blob := artifact(t)
	const who = "builder@example.com"
	bundle := filepath.Join(t.TempDir(), "artifact.sigstore.json")
	out, err := cosign3(t, nil, "sign-blob", "--yes", "--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot,
		"--identity-token", s.Token(t, who), "--bundle", bundle, blob)
	if err != nil {
		t.Fatalf("cosign3 sign-blob: %v\n%s", err, out)
	}
	const sctOID = "1.3.6.1.4.1.11129.2.4.2" // RFC 6962 embedded SCT list
	found := false
	for _, e := range bundleCert(t, bundle).Extensions {
		found = found || e.Id.String() == sctOID
	}
	if !found || s.CTLog.Requests() == 0 {
		t.Errorf("certificate has an SCT: %v; CT log requests: %d", found, s.CTLog.Requests())
	}
	if out, err := cosign3(t, nil, "verify-blob", "--bundle", bundle, "--trusted-root", s.TrustedRoot,
		"--certificate-identity", who, "--certificate-oidc-issuer", s.Issuer(), blob); err != nil {
		t.Errorf("cosign3 verify-blob checking the SCT: %v\n%s", err, out)
	}
}
