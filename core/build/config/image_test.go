package config

import (
	"strings"
	"testing"
)

// ParseImage splits an image URL as the distribution grammar does, and
// refuses what it cannot attest: no URL, credentials, no tag nor digest.
func TestParseImage(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in             string
		repo, tag, dig string
	}{
		{"oci://127.0.0.1:5000/app:v1", "127.0.0.1:5000/app", "v1", ""},
		{"oci://registry.example/org/team/app@" + d, "registry.example/org/team/app", "", d},
		{"oci://localhost:5000/org/app:1.2.3@" + d, "localhost:5000/org/app", "1.2.3", d},
	} {
		got, err := ParseImage(tc.in)
		if err != nil || got.Repository != tc.repo || got.Tag != tc.tag || got.Digest != tc.dig || got.Scheme != "oci" {
			t.Errorf("ParseImage(%q) = %+v, %v", tc.in, got, err)
		}
		if by := got.ByDigest(d); by != "oci://"+tc.repo+"@"+d {
			t.Errorf("ByDigest: %s", by)
		}
	}
	for _, bad := range []string{
		"registry.example/app:v1",
		"oci://user:s3cret-pw@registry.example/app:v1",
		"oci://registry.example/app",
		"oci://registry.example:5000/app",
		"oci://registry.example/App:v1",
		"oci://registry.example/app:v1?x=1",
		"oci://registry.example/app@sha256:abc",
		"oci://registry.example/app:-bad",
		"oci://registry.example",
	} {
		if _, err := ParseImage(bad); err == nil {
			t.Errorf("ParseImage(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
