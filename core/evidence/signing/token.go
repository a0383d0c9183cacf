package signing

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/build/infile"
)

// TokenAudience is the audience Fulcio requires of an ID token.
const TokenAudience = "sigstore"

// The environment variables an ID token is found by.
const (
	// TokenEnv holds a token given to the job (GitLab's id_tokens:).
	TokenEnv = "SIGSTORE_ID_TOKEN"
	// GitHub Actions' token request, given to a job with
	// "permissions: id-token: write".
	ActionsRequestURLEnv   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	ActionsRequestTokenEnv = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// maxToken bounds an ID token read from a file or a response.
const maxToken = 64 << 10

// tokenTimeout bounds the request of GitHub Actions' token.
const tokenTimeout = 30 * time.Second

// TokenSource finds the OIDC ID token keyless signing exchanges for a
// certificate: $SIGSTORE_ID_TOKEN, else GitHub Actions' token (requested
// for audience sigstore), else the file File names. Where names the source
// in messages; the token itself is never in one.
type TokenSource struct {
	// LookupEnv reads the environment (os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// File is --identity-token's file, "" for none.
	File string
	// Client makes the GitHub Actions request; http.DefaultClient if nil.
	Client *http.Client
}

// Token returns the ID token and where it came from, checked as far as a
// client can without the issuer's keys: a JWT whose audience includes
// sigstore and which has not expired (Fulcio checks its signature).
func (s TokenSource) Token(ctx context.Context) (token, from string, err error) {
	token, from, err = s.find(ctx)
	if err != nil {
		return "", "", err
	}
	if err := checkToken(token, time.Now()); err != nil {
		return "", "", fmt.Errorf("the identity token from %s: %w", from, err)
	}
	return token, from, nil
}

func (s TokenSource) find(ctx context.Context) (string, string, error) {
	if v, ok := s.LookupEnv(TokenEnv); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v), "$" + TokenEnv, nil
	}
	reqURL, okURL := s.LookupEnv(ActionsRequestURLEnv)
	reqToken, okTok := s.LookupEnv(ActionsRequestTokenEnv)
	if okURL && okTok && reqURL != "" && reqToken != "" {
		tok, err := s.actions(ctx, reqURL, reqToken)
		if err != nil {
			return "", "", fmt.Errorf("requesting the GitHub Actions identity token: %w", err)
		}
		return tok, "GitHub Actions ($" + ActionsRequestURLEnv + ")", nil
	}
	if s.File != "" {
		b, err := infile.Read(s.File, maxToken)
		if err != nil {
			return "", "", fmt.Errorf("reading the identity token: %w", err)
		}
		return strings.TrimSpace(string(b)), s.File, nil
	}
	return "", "", fmt.Errorf("keyless signing needs an OIDC identity token: set $%s (GitLab: id_tokens: %s: aud: sigstore), run in GitHub Actions with permissions: id-token: write, or give --identity-token FILE", TokenEnv, TokenEnv)
}

// actions asks GitHub Actions for a token of audience sigstore.
func (s TokenSource) actions(ctx context.Context, reqURL, reqToken string) (string, error) {
	u, err := url.Parse(reqURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("$%s is not an http(s) URL", ActionsRequestURLEnv)
	}
	q := u.Query()
	q.Set("audience", TokenAudience)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "bearer "+reqToken)
	req.Header.Set("Accept", "application/json")
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL's query may carry the request's own secrets: name the host only.
		return "", fmt.Errorf("GET %s: %w", u.Host, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxToken+1))
	if err != nil {
		return "", fmt.Errorf("reading the answer of %s: %w", u.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %s", u.Host, resp.Status)
	}
	var v struct {
		Value string `json:"value"`
	}
	if len(body) > maxToken || json.Unmarshal(body, &v) != nil || v.Value == "" {
		return "", fmt.Errorf("%s answered no token", u.Host)
	}
	return v.Value, nil
}

// unwrapURLError drops the URL (it may hold a secret) from a client error.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// checkToken reads a JWT's claims, unverified, for the mistakes a client
// can name better than Fulcio: not a JWT, another audience, expired.
func checkToken(tok string, now time.Time) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT (want three dot-separated parts)")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return errors.New("not a JWT (its claims are not base64url)")
	}
	var c struct {
		Aud any     `json:"aud"`
		Exp float64 `json:"exp"`
		Iss string  `json:"iss"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return errors.New("not a JWT (its claims are not JSON)")
	}
	var aud []string
	switch a := c.Aud.(type) {
	case string:
		aud = []string{a}
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				aud = append(aud, s)
			}
		}
	}
	if !slices.Contains(aud, TokenAudience) {
		return fmt.Errorf("its audience is %q, Fulcio requires %q (GitLab: id_tokens: %s: aud: sigstore)", strings.Join(aud, ","), TokenAudience, TokenEnv)
	}
	if c.Exp != 0 {
		if exp := time.Unix(int64(c.Exp), 0); !now.Before(exp) {
			return fmt.Errorf("it expired at %s (issuer %s)", exp.UTC().Format(time.RFC3339), c.Iss)
		}
	}
	return nil
}
