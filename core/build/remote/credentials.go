package remote

import (
	"fmt"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
)

// CredentialFunc returns the options that carry a URL's credentials to the
// plugin serving it (nil for none).
type CredentialFunc func(rawURL string) map[string]string

// Credentials hands the secret of the longest matching credentials: entry
// to the plugin, shaped for the URL's scheme. A secret not (yet) resolved
// gives nothing: CheckCredentials refuses undeclared ones before any
// transfer.
func Credentials(entries []config.Credential, secrets map[string]string) CredentialFunc {
	return func(rawURL string) map[string]string {
		best := -1
		for i, c := range entries {
			if strings.HasPrefix(rawURL, c.URL) && (best < 0 || len(c.URL) > len(entries[best].URL)) {
				best = i
			}
		}
		if best < 0 {
			return nil
		}
		c := entries[best]
		v, ok := secrets[c.Secret]
		if !ok {
			return nil
		}
		scheme, _ := Scheme(rawURL, "")
		switch {
		case strings.HasPrefix(scheme, "git+"):
			return map[string]string{"token": v}
		case c.Header != "":
			return map[string]string{"header": c.Header + ": " + v}
		default: // http, https
			return map[string]string{"header": "Authorization: Bearer " + v}
		}
	}
}

// CheckCredentials refuses credentials the plugin for their scheme cannot
// use.
func CheckCredentials(entries []config.Credential) error {
	for i, c := range entries {
		scheme, err := Scheme(c.URL, fmt.Sprintf("%s: credentials[%d].url", c.Pos, i))
		if err != nil {
			return err
		}
		switch {
		case scheme == "http" || scheme == "https" || strings.HasPrefix(scheme, "git+"):
		case scheme == "s3":
			return fmt.Errorf("%s: credentials[%d]: s3:// takes credentials only from the standard AWS chain (AWS_* variables, shared config, web identity, instance metadata)", c.Pos, i)
		default:
			return fmt.Errorf("%s: credentials[%d]: %s:// URLs take no credentials", c.Pos, i, scheme)
		}
	}
	return nil
}
