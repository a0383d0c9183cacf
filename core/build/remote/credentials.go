package remote

import (
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
)

// CredentialFunc returns the options that carry a URL's credentials to the
// plugin serving it (nil for none).
type CredentialFunc func(rawURL string) map[string]string

// MatchCredential returns the index of the credentials: entry with the
// longest URL prefix of rawURL, or -1. A prefix matches only up to a
// boundary: https://a.example.com covers https://a.example.com/x, never
// https://a.example.com.evil/.
func MatchCredential(entries []config.Credential, rawURL string) int {
	best := -1
	for i, c := range entries {
		if prefixAtBoundary(rawURL, c.URL) && (best < 0 || len(c.URL) > len(entries[best].URL)) {
			best = i
		}
	}
	return best
}

func prefixAtBoundary(rawURL, prefix string) bool {
	if !strings.HasPrefix(rawURL, prefix) || prefix == "" {
		return false
	}
	if len(rawURL) == len(prefix) || strings.HasSuffix(prefix, "/") {
		return true
	}
	return strings.ContainsRune("/?#", rune(rawURL[len(prefix)]))
}

// Credentials hands the plugin serving a URL the options of the longest
// matching credentials: entry: its plain options, each secret-filled option
// with the secret's value, and token_header for header:. Which options a
// plugin takes, and that it marks the secret ones writeOnly, is checked
// against its schema before the run (schema.Check); a secret not (yet)
// resolved gives nothing.
func Credentials(entries []config.Credential, secrets map[string]string) CredentialFunc {
	return func(rawURL string) map[string]string {
		i := MatchCredential(entries, rawURL)
		if i < 0 {
			return nil
		}
		c := entries[i]
		out := c.PlainOptions()
		for opt, name := range c.SecretOptions() {
			v, ok := secrets[name]
			if !ok {
				return nil
			}
			out[opt] = v
		}
		return out
	}
}
