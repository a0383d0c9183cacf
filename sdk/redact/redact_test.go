package redact_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/redact"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"https://host/path", "https://host/path"},
		{"https://tok@host/p", "https://REDACTED@host/p"},
		{"https://user:pw@host:8080/p?x=1", "https://REDACTED@host:8080/p?REDACTED"},
		{"s3://bucket/key?X-Amz-Signature=abc#frag", "s3://bucket/key?REDACTED"},
		{"git+https://a:b@host/repo.git//sub@main", "git+https://REDACTED@host/repo.git//sub@main"},
		{"oci://u:p@reg/repo:tag", "oci://REDACTED@reg/repo:tag"},
		{"https://us@er:pw@host", "https://REDACTED@host"},
		{"https://host?tok@x", "https://host?REDACTED"},
		{"https://host#a@b", "https://host"},
		{"https://h/x?", "https://h/x?REDACTED"}, // an empty query is shown as one, not as none
		{"//tok@host/p", "//REDACTED@host/p"},
		{"https://tok@ho st/%zz", "https://REDACTED@ho st/%zz"}, // unparsable, still redacted
		{"file:///tmp/a@b", "file:///tmp/a@b"},                  // "@" in the path is no user info
		{"no-scheme?q=secret", "no-scheme?REDACTED"},
	} {
		got := redact.URL(tc.raw)
		if got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.raw, got, tc.want)
		}
		for _, secret := range []string{"tok", ":pw", "abc", "user"} {
			if strings.Contains(tc.raw, secret) && strings.Contains(got, secret) {
				t.Errorf("URL(%q) = %q still holds %q", tc.raw, got, secret)
			}
		}
	}
}

func TestQuoteURL(t *testing.T) {
	if got, want := redact.QuoteURL("s3://k:s@b/a\nb"), `"s3://REDACTED@b/a\nb"`; got != want {
		t.Errorf("QuoteURL = %s, want %s", got, want)
	}
}

func TestURLError(t *testing.T) {
	_, err := url.Parse("https://user:secret@host/%zz")
	if err == nil {
		t.Fatal("url.Parse accepted a bad escape")
	}
	if !strings.Contains(err.Error(), "secret") {
		t.Fatalf("premise: url.Parse's error %q no longer repeats the URL", err)
	}
	got := redact.URLError(err)
	if got == nil || strings.Contains(got.Error(), "secret") {
		t.Errorf("URLError(%v) = %v, want the cause without the URL", err, got)
	}
	if other := redact.URLError(url.EscapeError("x")); other.Error() != url.EscapeError("x").Error() {
		t.Errorf("ParseError changed an error that is no *url.Error: %v", other)
	}
}

func TestError(t *testing.T) {
	base := fmt.Errorf("cloning https://x:tok3n@host/r: %w", fs.ErrPermission)
	for _, tc := range []struct {
		name    string
		err     error
		secrets []string
		want    string
	}{
		{"hides every secret", base, []string{"tok3n", "x"}, "cloning https://REDACTED:REDACTED@host/r: permission denied"},
		{"no secret keeps the error", base, []string{""}, base.Error()},
		{"nil stays nil", nil, []string{"tok3n"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := redact.Error(tc.err, tc.secrets...)
			if tc.err == nil {
				if got != nil {
					t.Fatalf("Error(nil) = %v", got)
				}
				return
			}
			if got.Error() != tc.want {
				t.Errorf("message %q, want %q", got, tc.want)
			}
			if !errors.Is(got, fs.ErrPermission) {
				t.Errorf("errors.Is lost the cause: %v", got)
			}
		})
	}
}
