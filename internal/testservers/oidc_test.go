package testservers

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOIDCIssuer checks the issuer as a relying party sees it: discovery
// names the issuer and its JWKS, every token verifies with the JWKS key, and
// the options set the claims they promise; the GitHub Actions endpoint
// serves tokens for the audience asked only with the right request token.
func TestOIDCIssuer(t *testing.T) {
	o := StartOIDCIssuer(t)
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(o.URL+"/.well-known/openid-configuration", &disc); err != nil {
		t.Fatal(err)
	}
	if err := getJSON(o.GitHubIssuer()+"/.well-known/openid-configuration", &disc); err != nil || disc.Issuer != o.GitHubIssuer() {
		t.Errorf("GitHub issuer's discovery: %+v, %v", disc, err)
	}
	if disc.JWKSURI != o.URL+"/jwks" {
		t.Errorf("jwks_uri = %q", disc.JWKSURI)
	}
	var jwks struct {
		Keys []struct{ Kid, N, E string }
	}
	if err := getJSON(disc.JWKSURI, &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("JWKS: %+v, %v", jwks, err)
	}
	n, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].N)
	e, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	claims := func(tok string) map[string]any {
		t.Helper()
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("token %q is not a JWS", tok)
		}
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
			t.Fatalf("token does not verify with the JWKS key: %v", err)
		}
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var c map[string]any
		if err := json.Unmarshal(payload, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	now := float64(time.Now().Unix())
	tests := []struct {
		name  string
		tok   string
		check func(c map[string]any) bool
	}{
		{"default", o.Token(t, "a@example.com"), func(c map[string]any) bool {
			return c["iss"] == o.URL && c["sub"] == "a@example.com" && c["email"] == "a@example.com" &&
				c["email_verified"] == true && c["aud"] == "sigstore" && c["exp"].(float64) > now
		}},
		{"expired", o.Token(t, "a@example.com", WithTokenExpired()), func(c map[string]any) bool { return c["exp"].(float64) < now }},
		{"audience", o.Token(t, "a@example.com", WithTokenAudience("other")), func(c map[string]any) bool { return c["aud"] == "other" }},
		{"github", o.GitHubToken(t, GitHubWorkflow{Repository: "o/r"}), func(c map[string]any) bool {
			return c["iss"] == o.GitHubIssuer() && c["sub"] == "repo:o/r:ref:refs/heads/main" && c["email"] == nil &&
				c["job_workflow_ref"] == "o/r/.github/workflows/build.yml@refs/heads/main"
		}},
		{"gitlab", o.GitLabToken(t, GitLabPipeline{ProjectPath: "g/p", Ref: "v1", RefType: "tag"}), func(c map[string]any) bool {
			return c["iss"] == o.GitLabIssuer() && c["ci_config_ref_uri"] == "gitlab.com/g/p//.gitlab-ci.yml@refs/tags/v1"
		}},
	}
	for _, tt := range tests {
		if c := claims(tt.tok); !tt.check(c) {
			t.Errorf("%s token has claims %v", tt.name, c)
		}
	}

	env := o.GitHubActionsEnv(t, "ci@example.com")
	url := strings.TrimPrefix(env[0], "ACTIONS_ID_TOKEN_REQUEST_URL=") + "&audience=custom"
	reqToken := strings.TrimPrefix(env[1], "ACTIONS_ID_TOKEN_REQUEST_TOKEN=")
	for _, tt := range []struct {
		auth string
		want int
	}{{"bearer " + reqToken, http.StatusOK}, {"bearer wrong", http.StatusUnauthorized}, {"", http.StatusUnauthorized}} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Value string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("Actions token request with %q: %s, want %d", tt.auth, resp.Status, tt.want)
		}
		if tt.want == http.StatusOK {
			if c := claims(body.Value); c["aud"] != "custom" || c["email"] != "ci@example.com" {
				t.Errorf("Actions token has claims %v, want audience custom for ci@example.com", c)
			}
		}
	}
}
