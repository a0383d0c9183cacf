package ocistore

import (
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

//go:embed schema.json
var schema []byte

// optionKeys are the keys of req.Options the backend takes; schema.json
// describes the same.
var optionKeys = []string{"insecure", "password", "platform", "token", "username"}

// config is what a request's options ask for.
type config struct {
	// auth is the explicit account (username with password or token, or a
	// bearer token); nil means the docker config's (DefaultKeychain).
	auth     authn.Authenticator
	insecure bool
	platform *v1.Platform
	// secrets are the values no message may show: the password, the token
	// and the basic credentials derived from them.
	secrets []string
}

// parseOptions checks a request's options. Its errors never repeat a
// credential's value.
func parseOptions(opts map[string]string) (*config, error) {
	var unknown []string
	for k := range opts {
		if !slices.Contains(optionKeys, k) {
			unknown = append(unknown, fmt.Sprintf("%q", k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("unknown oci storage option %s (known: %s)", strings.Join(unknown, ", "), strings.Join(optionKeys, ", "))
	}
	c := &config{}
	if v, ok := opts["insecure"]; ok {
		switch v {
		case "true":
			c.insecure = true
		case "false":
		default:
			return nil, fmt.Errorf("option insecure: %q is not true or false", v)
		}
	}
	if v, ok := opts["platform"]; ok {
		p, err := v1.ParsePlatform(v)
		if err != nil || p.OS == "" || p.Architecture == "" || strings.Count(v, "/") > 2 || strings.ContainsAny(v, ": ") {
			return nil, fmt.Errorf("option platform: %q is not os/arch or os/arch/variant (like linux/amd64)", v)
		}
		c.platform = p
	}
	auth, secrets, err := account(opts)
	if err != nil {
		return nil, err
	}
	c.auth, c.secrets = auth, secrets
	return c, nil
}

// account builds the explicit registry account from username, password and
// token: username with password or token is HTTP basic (a registry's
// personal access token goes as the password), token alone a bearer token.
// None of them: nil, and the docker config decides.
func account(opts map[string]string) (authn.Authenticator, []string, error) {
	user, hasUser := opts["username"]
	password, hasPassword := opts["password"]
	token, hasToken := opts["token"]
	for _, v := range []struct {
		name, value string
		set         bool
	}{{"username", user, hasUser}, {"password", password, hasPassword}, {"token", token, hasToken}} {
		if v.set && (v.value == "" || strings.ContainsAny(v.value, "\r\n\x00")) {
			return nil, nil, fmt.Errorf("option %s: the value is empty or holds a line break", v.name)
		}
	}
	if hasUser && strings.Contains(user, ":") {
		return nil, nil, errors.New("option username: a user name cannot hold \":\" in HTTP basic credentials")
	}
	switch {
	case hasPassword && hasToken:
		return nil, nil, errors.New("options password and token both given: a registry takes one (token with username is sent as the password)")
	case hasPassword && !hasUser:
		return nil, nil, errors.New("option password needs username")
	case hasUser && !hasPassword && !hasToken:
		return nil, nil, errors.New("option username needs password or token (from a secret)")
	case hasUser:
		secret := password
		if hasToken {
			secret = token
		}
		basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + secret))
		return authn.FromConfig(authn.AuthConfig{Username: user, Password: secret}), []string{secret, basic}, nil
	case hasToken:
		return authn.FromConfig(authn.AuthConfig{RegistryToken: token}), []string{token}, nil
	}
	return nil, nil, nil
}
