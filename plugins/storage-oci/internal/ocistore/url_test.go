package ocistore

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		url, repo, ref, object, name string
	}{
		{"oci://reg.example:5000/org/app:v1", "reg.example:5000/org/app", "reg.example:5000/org/app:v1", "", "app"},
		{"oci://ghcr.io/org/app@sha256:" + strings.Repeat("ab", 32), "ghcr.io/org/app", "ghcr.io/org/app@sha256:" + strings.Repeat("ab", 32), "", "app"},
		{"oci://127.0.0.1:5000/store//builds/k/app.tar.gz", "127.0.0.1:5000/store", "127.0.0.1:5000/store:" + objectTag("builds/k/app.tar.gz"), "builds/k/app.tar.gz", "app.tar.gz"},
		{"oci://127.0.0.1:5000/store//builds/k/app.tar.gz/", "127.0.0.1:5000/store", "127.0.0.1:5000/store:" + objectTag("builds/k/app.tar.gz"), "builds/k/app.tar.gz", "app.tar.gz"},
		{"oci://127.0.0.1:5000/store//with%20space", "127.0.0.1:5000/store", "127.0.0.1:5000/store:" + objectTag("with space"), "with space", "with space"},
		{"oci://registry/team/app:v1", "registry/team/app", "registry/team/app:v1", "", "app"},
		{"oci://docker.io/library/alpine:3", "index.docker.io/library/alpine", "index.docker.io/library/alpine:3", "", "alpine"},
	} {
		loc, err := parseURL(c.url, false)
		if err != nil {
			t.Errorf("parseURL(%q): %v", c.url, err)
			continue
		}
		if loc.repo.Name() != c.repo || loc.ref.Name() != c.ref || loc.object != c.object || loc.name != c.name {
			t.Errorf("parseURL(%q) = repo %q ref %q object %q name %q, want %q %q %q %q", c.url, loc.repo.Name(), loc.ref.Name(), loc.object, loc.name, c.repo, c.ref, c.object, c.name)
		}
	}
	for _, u := range []string{
		"s3://bucket/key", "oci:opaque", "oci://host/app", "oci://host/app//", "oci://host/App:v1",
		"oci://host/app:bad tag", "oci://host/app@sha256:short", "oci://host/app//a%2Fb", "oci://host/app//a%zz",
		"oci://u:p@host/app:v1", "oci://host/app:v1#frag", "oci://host/app//" + strings.Repeat("x", maxObjectLen+1),
	} {
		if _, err := parseURL(u, false); !errors.Is(err, storage.ErrInvalidURL) {
			t.Errorf("parseURL(%q): %v, want storage.ErrInvalidURL", u, err)
		}
	}
	if _, err := parseURL("oci://host/app//a/./b", false); !errors.Is(err, storage.ErrUnsafePath) {
		t.Errorf(`parseURL of a "." segment: %v, want storage.ErrUnsafePath`, err)
	}
	// Loopback speaks plain HTTP without asking; insecure allows it anywhere.
	for host, insecure := range map[string]bool{"127.0.0.1:5000": false, "reg.example": true} {
		loc, err := parseURL("oci://"+host+"/app:v1", insecure)
		if err != nil || loc.repo.Scheme() != "http" {
			t.Errorf("parseURL(%s, insecure=%v): scheme %q, %v; want http", host, insecure, loc.repo.Scheme(), err)
		}
	}
	if loc, _ := parseURL("oci://reg.example/app:v1", false); loc.repo.Scheme() != "https" {
		t.Errorf("a registry by name: scheme %q, want https", loc.repo.Scheme())
	}
}

var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

func TestObjectTag(t *testing.T) {
	long := strings.Repeat("very-long-folder/", 20) + "the-file-name.tar.gz"
	seen := map[string]string{}
	for _, p := range []string{"a/b", "a_b", "a/b/", "A/B", ".hidden", "-dash", "ünïcode/名前", "..x", long, long + "2", "x"} {
		tag := objectTag(p)
		if !tagRE.MatchString(tag) {
			t.Errorf("objectTag(%q) = %q: not a valid tag", p, tag)
		}
		if other, ok := seen[tag]; ok {
			t.Errorf("objectTag(%q) = objectTag(%q) = %q", p, other, tag)
		}
		seen[tag] = p
		if objectTag(p) != tag {
			t.Errorf("objectTag(%q) is not stable", p)
		}
	}
	if tag := objectTag(long); !strings.Contains(tag, "the-file-name.tar.gz-") {
		t.Errorf("objectTag of a long path %q drops the file name", tag)
	}
	if got, want := objectTag("builds/41ca308fc45027e61bb7cab81d9e3cc6/app.tar.gz"), "builds_41ca308fc45027e61bb7cab81d9e3cc6_app.tar.gz-"; !strings.HasPrefix(got, want) {
		t.Errorf("objectTag = %q, want it to start with %q", got, want)
	}
}

func TestParseOptions(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		ok   bool
	}{
		{nil, true},
		{map[string]string{"username": "u", "password": "p"}, true},
		{map[string]string{"username": "u", "token": "t"}, true},
		{map[string]string{"token": "t"}, true},
		{map[string]string{"insecure": "true", "platform": "linux/arm64/v8"}, true},
		{map[string]string{"username": "u"}, false},
		{map[string]string{"password": "p"}, false},
		{map[string]string{"username": "u", "password": "p", "token": "t"}, false},
		{map[string]string{"username": "u:x", "password": "p"}, false},
		{map[string]string{"username": "u", "password": "p\nq"}, false},
		{map[string]string{"token": ""}, false},
		{map[string]string{"platform": "linux/amd64:10"}, false},
		{map[string]string{"insecure": "1"}, false},
		{map[string]string{"header": "x"}, false},
	} {
		cfg, err := parseOptions(c.opts)
		if (err == nil) != c.ok {
			t.Errorf("parseOptions(%v): %v, want ok=%v", c.opts, err, c.ok)
		}
		if err != nil {
			for _, secret := range []string{"p\nq", "t"} {
				if c.opts["password"] == secret && strings.Contains(err.Error(), secret) {
					t.Errorf("parseOptions(%v): the error shows the password", c.opts)
				}
			}
			continue
		}
		if (cfg.auth != nil) != (c.opts["password"] != "" || c.opts["token"] != "") {
			t.Errorf("parseOptions(%v): auth %v", c.opts, cfg.auth)
		}
	}
}

func TestRedact(t *testing.T) {
	msg := scrub("GET https://store.example/blob?X-Amz-Signature=abc&token=s3cr3t: failed\nfor s3cr3t "+strings.Repeat("x", 600), []string{"s3cr3t"})
	if strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "abc") || strings.Contains(msg, "\n") || len(msg) > maxMessage+4 {
		t.Errorf("redact: %q", msg)
	}
	if !strings.HasPrefix(msg, "GET https://store.example/blob?[redacted] failed for [redacted] ") {
		t.Errorf("redact: %q", msg)
	}
}
