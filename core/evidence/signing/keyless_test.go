package signing_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

const keylessWho = "builder@example.com"

// keylessSigner is a signer against the local stack whose environment is env
// (NAME=VALUE) and whose token file is file.
func keylessSigner(t *testing.T, s *testservers.Sigstore, file string, env ...string) *signing.KeylessSigner {
	t.Helper()
	sc, err := signing.LoadSigningConfig(s.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := signing.LoadTrustedRoot(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(name string) (string, bool) {
		for _, kv := range env {
			if n, v, _ := strings.Cut(kv, "="); n == name {
				return v, true
			}
		}
		return "", false
	}
	k, err := signing.NewKeylessSigner(signing.TokenSource{LookupEnv: lookup, File: file}, sc, tr)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeylessSigning signs a statement keylessly against a real local
// Sigstore stack (Fulcio, Rekor v2, TSA, OIDC issuer), with the token from
// each source in turn: the bundle v0.3 holds the certificate, a Rekor v2
// entry with its inclusion proof and an RFC 3161 timestamp, and verifies
// for the token's identity and no other.
func TestKeylessSigning(t *testing.T) {
	s := testservers.StartSigstore(t)
	tr, err := signing.LoadTrustedRoot(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		file string
		env  []string
	}{
		{name: "SIGSTORE_ID_TOKEN", env: []string{"SIGSTORE_ID_TOKEN=" + s.Token(t, keylessWho)}, file: s.OIDC.TokenFile(t, "other@example.com")},
		{name: "GitHub Actions", env: s.OIDC.GitHubActionsEnv(t, keylessWho), file: s.OIDC.TokenFile(t, "other@example.com")},
		{name: "token file", file: s.OIDC.TokenFile(t, keylessWho)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			line, bundle, err := signing.SignForms(context.Background(), []byte(statement), keylessSigner(t, s, tt.file, tt.env...))
			if err != nil {
				t.Fatal(err)
			}
			var b struct {
				MediaType            string
				VerificationMaterial struct {
					Certificate struct{ RawBytes string }
					TlogEntries []struct {
						KindVersion    struct{ Kind, Version string }
						InclusionProof struct{ Checkpoint struct{ Envelope string } }
					}
					TimestampVerificationData struct {
						RFC3161Timestamps []struct{ SignedTimestamp string } `json:"rfc3161Timestamps"`
					}
				}
			}
			if err := json.Unmarshal(bundle, &b); err != nil {
				t.Fatal(err)
			}
			vm := b.VerificationMaterial
			if b.MediaType != signing.SigstoreMediaType || vm.Certificate.RawBytes == "" || len(vm.TlogEntries) != 1 ||
				vm.TlogEntries[0].KindVersion.Version != "0.0.2" || vm.TlogEntries[0].InclusionProof.Checkpoint.Envelope == "" ||
				len(vm.TimestampVerificationData.RFC3161Timestamps) != 1 {
				t.Fatalf("not a v0.3 bundle with a certificate, a Rekor v2 entry and a timestamp:\n%s", bundle)
			}
			envs, err := signing.ReadBundle(line)
			if err != nil || len(envs) != 1 || len(envs[0].Signatures) != 1 {
				t.Fatalf("envelope line: %v\n%s", err, line)
			}
			for _, id := range []struct {
				subject string
				ok      bool
			}{{keylessWho, true}, {"other@example.com", false}} {
				k, err := signing.NewKeyless(tr, []signing.Identity{{Subject: id.subject, Issuer: s.Issuer()}})
				if err != nil {
					t.Fatal(err)
				}
				c, err := k.VerifyBundle(bundle)
				if (err == nil) != id.ok {
					t.Fatalf("verifying as %s: %v", id.subject, err)
				}
				if id.ok && (c.Subject != keylessWho || c.Issuer != s.Issuer() || len(c.Timestamps) == 0) {
					t.Fatalf("certified %+v", c)
				}
			}
		})
	}
}

// TestKeylessSigningFailures: each way keyless signing fails is one line
// naming what failed, without the token, and no bundle.
func TestKeylessSigningFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for retries of failing services")
	}
	s := testservers.StartSigstore(t)
	good := s.OIDC.TokenFile(t, keylessWho)
	tok, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		file  string
		env   []string
		front *testservers.Front
		down  bool
		want  string
	}{
		{name: "no token", want: "needs an OIDC identity token"},
		{name: "expired token", file: s.OIDC.TokenFile(t, keylessWho, testservers.WithTokenExpired()), want: "expired at"},
		{name: "wrong audience", file: s.OIDC.TokenFile(t, keylessWho, testservers.WithTokenAudience("other")), want: `audience is "other"`},
		{name: "not a JWT", env: []string{"SIGSTORE_ID_TOKEN=not-a-token"}, want: "not a JWT"},
		{name: "GitHub Actions refuses", env: []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + s.OIDC.URL + "/github-actions/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=wrong"},
			want: "401"},
		{name: "Fulcio 503", file: good, front: s.Fulcio, want: "503"},
		{name: "Fulcio down", file: good, front: s.Fulcio, down: true, want: "connection refused"},
		{name: "Rekor 500", file: good, front: s.Rekor, want: "500"},
		{name: "Rekor down", file: good, front: s.Rekor, down: true, want: "connection refused"},
		{name: "TSA 502", file: good, front: s.TSA, want: "502"},
		{name: "TSA down", file: good, front: s.TSA, down: true, want: "connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if f := tt.front; f != nil {
				status := http.StatusServiceUnavailable
				switch {
				case strings.Contains(tt.want, "500"):
					status = http.StatusInternalServerError
				case strings.Contains(tt.want, "502"):
					status = http.StatusBadGateway
				}
				if tt.down {
					f.Down()
				} else {
					f.Fail(status)
				}
				defer f.Up()
			}
			line, bundle, err := signing.SignForms(context.Background(), []byte(statement), keylessSigner(t, s, tt.file, tt.env...))
			if err == nil || line != nil || bundle != nil {
				t.Fatalf("signed (%v), want a failure with %q", err, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || strings.Contains(msg, strings.TrimSpace(string(tok))) || strings.Contains(msg, "wrong") && tt.name == "GitHub Actions refuses" {
				t.Fatalf("%s\nwant one line with %q and no token", msg, tt.want)
			}
			t.Log(msg)
		})
	}
}
