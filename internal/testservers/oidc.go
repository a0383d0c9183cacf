package testservers

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultTokenAudience is the audience of the ID tokens Token mints unless
// told otherwise: the client ID Sigstore's Fulcio expects ("sigstore").
const DefaultTokenAudience = "sigstore"

// OIDCIssuer is a small OpenID Connect issuer on loopback, as Sigstore's own
// test scaffolding runs: real discovery (/.well-known/openid-configuration),
// a JWKS with its RSA key, and RS256-signed ID tokens, which Fulcio fetches
// and verifies as it does a CI's. Tokens are minted directly (Token), with no
// login flow; a GitHub Actions-style token request endpoint serves them to a
// job's environment (GitHubActionsEnv).
type OIDCIssuer struct {
	// URL is the issuer ("iss" of its tokens), http://127.0.0.1:<port>: what
	// a certificate's OIDC issuer extension and cosign's
	// --certificate-oidc-issuer name.
	URL string
	// Front serves the issuer; it can be made to fail or be down.
	Front *Front

	key *rsa.PrivateKey
	kid string

	mu           sync.Mutex
	actionsToken map[string]actionsGrant // GitHub Actions request token → grant
}

type actionsGrant struct {
	email string
	opts  []TokenOption
}

// StartOIDCIssuer starts an OIDC issuer on a free port of 127.0.0.1 until the
// test ends.
func StartOIDCIssuer(t testing.TB) *OIDCIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("testservers: OIDC issuer key: %v", err)
	}
	pub, err := json.Marshal(key.PublicKey.N.Bytes())
	if err != nil {
		t.Fatalf("testservers: OIDC issuer key: %v", err)
	}
	sum := sha256.Sum256(pub)
	o := &OIDCIssuer{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:8]), actionsToken: map[string]actionsGrant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", o.discovery(""))
	for _, ci := range []string{githubIssuerPath, gitlabIssuerPath} {
		mux.HandleFunc("GET "+ci+"/.well-known/openid-configuration", o.discovery(ci))
	}
	mux.HandleFunc("GET /jwks", o.jwks)
	mux.HandleFunc("GET /github-actions/token", o.actionsTokenRequest)
	f, err := newFront(t, mux, nil)
	if err != nil {
		t.Fatalf("testservers: OIDC issuer: %v", err)
	}
	o.Front, o.URL = f, f.URL
	return o
}

// discovery serves the OpenID configuration of the issuer at o.URL+path;
// every issuer of this server signs with the one key.
func (o *OIDCIssuer) discovery(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                o.URL + path,
			"jwks_uri":                              o.URL + "/jwks",
			"authorization_endpoint":                o.URL + "/authorize", // no login flow: tokens are minted by Token
			"token_endpoint":                        o.URL + "/token",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	}
}

func (o *OIDCIssuer) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"keys": []map[string]string{{
		"kty": "RSA",
		"use": "sig",
		"alg": "RS256",
		"kid": o.kid,
		"n":   base64.RawURLEncoding.EncodeToString(o.key.PublicKey.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(o.key.PublicKey.E)).Bytes()),
	}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// TokenOption adjusts a token minted by Token.
type TokenOption func(*tokenOptions)

type tokenOptions struct {
	audience   []string
	expired    bool
	lifetime   time.Duration
	claims     map[string]any
	issuerPath string // "" for the email issuer, githubIssuerPath, gitlabIssuerPath
	noEmail    bool   // a CI token: no email claims
	subject    string // instead of the email
}

// WithTokenAudience sets the token's audience instead of "sigstore" (a token
// for another audience, which Fulcio refuses).
func WithTokenAudience(aud ...string) TokenOption {
	return func(o *tokenOptions) { o.audience = aud }
}

// WithTokenExpired mints a token that expired an hour ago (issued two hours
// ago), which Fulcio refuses.
func WithTokenExpired() TokenOption { return func(o *tokenOptions) { o.expired = true } }

// WithTokenLifetime sets how long the token is valid from now (default 10
// minutes).
func WithTokenLifetime(d time.Duration) TokenOption {
	return func(o *tokenOptions) { o.lifetime = d }
}

// WithTokenClaims adds claims to the token, or replaces the default ones
// (iss, sub, aud, exp, iat, nbf, email, email_verified).
func WithTokenClaims(claims map[string]any) TokenOption {
	return func(o *tokenOptions) {
		if o.claims == nil {
			o.claims = map[string]any{}
		}
		for k, v := range claims {
			o.claims[k] = v
		}
	}
}

// Token mints an ID token for email, signed by the issuer: subject and
// verified email are email, the audience is "sigstore", valid for ten
// minutes unless opts say otherwise. Fulcio issues a certificate for it
// whose identity (SAN) is email and whose OIDC issuer is o.URL.
func (o *OIDCIssuer) Token(t testing.TB, email string, opts ...TokenOption) string {
	t.Helper()
	tok, err := o.mint(email, opts...)
	if err != nil {
		t.Fatalf("testservers: minting an ID token: %v", err)
	}
	return tok
}

// TokenFile writes Token(email, opts...) to a file of its own (mode 0600) in
// a temporary folder and returns its path, for --identity-token FILE.
func (o *OIDCIssuer) TokenFile(t testing.TB, email string, opts ...TokenOption) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "id-token")
	if err := os.WriteFile(p, []byte(o.Token(t, email, opts...)), 0o600); err != nil {
		t.Fatalf("testservers: writing the ID token: %v", err)
	}
	return p
}

func (o *OIDCIssuer) mint(email string, opts ...TokenOption) (string, error) {
	to := tokenOptions{audience: []string{DefaultTokenAudience}, lifetime: 10 * time.Minute}
	for _, opt := range opts {
		opt(&to)
	}
	now := time.Now()
	iat, exp := now, now.Add(to.lifetime)
	if to.expired {
		iat, exp = now.Add(-2*time.Hour), now.Add(-time.Hour)
	}
	var aud any = to.audience
	if len(to.audience) == 1 {
		aud = to.audience[0]
	}
	claims := map[string]any{
		"iss":            o.URL + to.issuerPath,
		"sub":            email,
		"aud":            aud,
		"iat":            iat.Unix(),
		"nbf":            iat.Unix(),
		"exp":            exp.Unix(),
		"email":          email,
		"email_verified": true,
	}
	if to.noEmail {
		delete(claims, "email")
		delete(claims, "email_verified")
	}
	if to.subject != "" {
		claims["sub"] = to.subject
	}
	for k, v := range to.claims {
		claims[k] = v
	}
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": o.kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, o.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// GitHubActionsEnv returns the environment GitHub Actions gives a job with
// "permissions: id-token: write" (ACTIONS_ID_TOKEN_REQUEST_URL and
// ACTIONS_ID_TOKEN_REQUEST_TOKEN, as NAME=VALUE), served by this issuer: a
// GET of the URL plus "&audience=AUD" with "Authorization: bearer TOKEN"
// answers {"value": "<ID token>"} for email, with the requested audience
// (opts adjust it as for Token). A wrong request token gets 401.
func (o *OIDCIssuer) GitHubActionsEnv(t testing.TB, email string, opts ...TokenOption) []string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testservers: request token: %v", err)
	}
	reqToken := base64.RawURLEncoding.EncodeToString(b)
	o.mu.Lock()
	o.actionsToken[reqToken] = actionsGrant{email: email, opts: opts}
	o.mu.Unlock()
	return []string{
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + o.URL + "/github-actions/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + reqToken,
	}
}

func (o *OIDCIssuer) actionsTokenRequest(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	scheme, reqToken, _ := strings.Cut(auth, " ")
	o.mu.Lock()
	grant, ok := o.actionsToken[reqToken]
	o.mu.Unlock()
	if !ok || !strings.EqualFold(scheme, "bearer") {
		http.Error(w, "bad request token", http.StatusUnauthorized)
		return
	}
	opts := grant.opts
	if aud := r.URL.Query().Get("audience"); aud != "" {
		opts = append([]TokenOption{WithTokenAudience(aud)}, opts...)
	}
	tok, err := o.mint(grant.email, opts...)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]string{"value": tok})
}
