package httpstore

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

func TestParseURL(t *testing.T) {
	for _, ok := range []string{"http://h/x", "https://h:8443/a/b?x=1", "HTTP://H/x", "http://[::1]:80/"} {
		if _, err := parseURL(ok); err != nil {
			t.Errorf("parseURL(%q): %v", ok, err)
		}
	}
	for raw, why := range map[string]string{
		"":                     "not an http",
		"ftp://h/x":            "not an http",
		"h/x":                  "not an http",
		"http:opaque":          "want http(s)://host/path",
		"http:///x":            "want http(s)://host/path",
		"http://:80/x":         "want http(s)://host/path",
		"http://h/x#frag":      "fragment",
		"http://u:p@h/x":       "credentials in URLs are refused; use a secret",
		"http://tok@h/x":       "credentials in URLs are refused; use a secret",
		"http://h/%zz":         "invalid URL escape",
		"http://h/a\nb":        "control character",
		"http://bad%zz-host/x": "invalid URL escape",
	} {
		_, err := parseURL(raw)
		if !errors.Is(err, storage.ErrInvalidURL) || !strings.Contains(err.Error(), why) {
			t.Errorf("parseURL(%q): %v, want storage.ErrInvalidURL: %s", raw, err, why)
		}
		if user, _, ok := strings.Cut(strings.TrimPrefix(raw, "http://"), "@"); ok && err != nil && strings.Contains(err.Error(), user) {
			t.Errorf("parseURL(%q): the error repeats the user info: %v", raw, err)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for pair, want := range map[[2]string]bool{
		{"https://h/a", "https://H:443/b"}: true,
		{"http://h/a", "http://h:80/b"}:    true,
		{"http://h/a", "https://h/a"}:      false,
		{"https://h/a", "https://h:8443/"}: false,
		{"https://h/a", "https://g/a"}:     false,
		{"https://h/a", "https://sub.h/a"}: false,
	} {
		a, _ := url.Parse(pair[0])
		b, _ := url.Parse(pair[1])
		if got := sameOrigin(a, b); got != want {
			t.Errorf("sameOrigin(%s, %s) = %v, want %v", pair[0], pair[1], got, want)
		}
	}
}
