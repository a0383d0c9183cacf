package run

import (
	"fmt"
	"strings"
)

// storageOptions returns what the storage plugin gets with a call for
// rawURL: the secret of the longest matching credentials entry, shaped for
// the plugin's scheme. Credentials never travel inside a URL.
func (r *runner) storageOptions(rawURL string) map[string]string {
	var best int = -1
	for i, c := range r.cfg.Credentials {
		if strings.HasPrefix(rawURL, c.URL) && (best < 0 || len(c.URL) > len(r.cfg.Credentials[best].URL)) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	c := r.cfg.Credentials[best]
	v, ok := r.secrets[c.Secret]
	if !ok {
		return nil // checked by checkCredentials before any transfer
	}
	scheme, _ := schemeOf(rawURL, "")
	switch {
	case strings.HasPrefix(scheme, "git+"):
		return map[string]string{"token": v}
	default: // http, https
		if c.Header != "" {
			return map[string]string{"header": c.Header + ": " + v}
		}
		return map[string]string{"header": "Authorization: Bearer " + v}
	}
}

// checkCredentials refuses credentials the plugin for their scheme cannot
// use, and ones whose secret is missing.
func (r *runner) checkCredentials() error {
	for i, c := range r.cfg.Credentials {
		scheme, err := schemeOf(c.URL, fmt.Sprintf("%s: credentials[%d].url", c.Pos, i))
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
