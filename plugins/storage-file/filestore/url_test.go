package filestore

import (
	"errors"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

func TestLocalPath(t *testing.T) {
	tests := []struct {
		url  string
		want string
		err  error
	}{
		{"file:///tmp/a", "/tmp/a", nil},
		{"file://localhost/tmp/a", "/tmp/a", nil},
		{"file://LocalHost/tmp/a", "/tmp/a", nil},
		{"FILE:///tmp/a", "/tmp/a", nil},
		{"file:/tmp/a", "/tmp/a", nil},
		{"file:///", "/", nil},
		{"file:///tmp/dir/", "/tmp/dir", nil},
		{"file:///tmp//a/./b", "/tmp/a/b", nil},
		{"file:///tmp/a%20b", "/tmp/a b", nil},
		{"file:///tmp/caf%C3%A9", "/tmp/café", nil},
		{"file:///tmp/a%2Fb", "/tmp/a/b", nil},
		{"file:///tmp/a%3Fb%23c", "/tmp/a?b#c", nil},
		{"file:///tmp/...", "/tmp/...", nil},
		{"file:///tmp/..a", "/tmp/..a", nil},

		{"", "", storage.ErrInvalidURL},
		{"/tmp/a", "", storage.ErrInvalidURL},
		{"tmp/a", "", storage.ErrInvalidURL},
		{"s3://bucket/key", "", storage.ErrInvalidURL},
		{"file://", "", storage.ErrInvalidURL},
		{"file://localhost", "", storage.ErrInvalidURL},
		{"file:tmp/a", "", storage.ErrInvalidURL},
		{"file://host/tmp/a", "", storage.ErrInvalidURL},
		{"file://./tmp/a", "", storage.ErrInvalidURL},
		{"file://localhost:22/tmp/a", "", storage.ErrInvalidURL},
		{"file://user@/tmp/a", "", storage.ErrInvalidURL},
		{"file://user:secret@localhost/tmp/a", "", storage.ErrInvalidURL},
		{"file:///tmp/a?x=1", "", storage.ErrInvalidURL},
		{"file:///tmp/a?", "", storage.ErrInvalidURL},
		{"file:///tmp/a#frag", "", storage.ErrInvalidURL},
		{"file:///tmp/a#", "", storage.ErrInvalidURL},
		{"file:///tmp/%zz", "", storage.ErrInvalidURL},
		{"file:///tmp/a%00b", "", storage.ErrInvalidURL},
		{"file:///tmp/a\nb", "", storage.ErrInvalidURL},
		{"file://%zz/tmp", "", storage.ErrInvalidURL},

		{"file:///a/../b", "", storage.ErrUnsafePath},
		{"file:///..", "", storage.ErrUnsafePath},
		{"file:///tmp/a/..", "", storage.ErrUnsafePath},
		{"file:///tmp/a/../", "", storage.ErrUnsafePath},
		{"file:///tmp/%2e%2e/etc", "", storage.ErrUnsafePath},
		{"file:///tmp/%2E%2E", "", storage.ErrUnsafePath},
		{"file:///tmp/a%2F..%2Fb", "", storage.ErrUnsafePath},
		{"file://localhost/../etc/passwd", "", storage.ErrUnsafePath},
	}
	for _, tt := range tests {
		got, err := localPath(tt.url)
		if tt.err == nil {
			if err != nil || got != tt.want {
				t.Errorf("localPath(%q) = %q, %v; want %q", tt.url, got, err, tt.want)
			}
			continue
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("localPath(%q) = %q, %v; want %v", tt.url, got, err, tt.err)
		}
	}
}

func TestLocalPathRedactsCredentials(t *testing.T) {
	for _, raw := range []string{
		"file://user:s3cret@localhost/tmp/a",
		"file://s3cret@localhost/tmp/a", // a user name alone is often a token
		"file://s3cret@localhost/tmp/%zz",
		"file:///tmp/a?sig=s3cret",
		"file:///tmp/../a?sig=s3cret",
	} {
		_, err := localPath(raw)
		if err == nil {
			t.Fatalf("localPath(%q): want an error", raw)
		}
		if msg := err.Error(); strings.Contains(msg, "s3cret") {
			t.Errorf("localPath(%q): error shows the secret: %s", raw, msg)
		}
	}
}
