package gitstore

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

func TestParseURL(t *testing.T) {
	const c = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		url                  string
		remote, local, sub   string
		commit, ref, display string
	}{
		{url: "git+https://github.com/org/repo.git", remote: "https://github.com/org/repo.git", display: "HEAD"},
		{url: "git+https://github.com/org/repo.git@v1.2.3", remote: "https://github.com/org/repo.git", ref: "v1.2.3", display: "v1.2.3"},
		{url: "git+https://host:8443/org/repo.git//sub/dir@feature/x", remote: "https://host:8443/org/repo.git", sub: "sub/dir", ref: "feature/x", display: "feature/x"},
		{url: "git+http://127.0.0.1:1234/repo//a/./b/@" + c, remote: "http://127.0.0.1:1234/repo", sub: "a/b", commit: c, display: c},
		{url: "git+https://host/repo@" + strings.ToUpper(c), remote: "https://host/repo", commit: c, display: c},
		{url: "git+https://host/repo/@HEAD", remote: "https://host/repo", display: "HEAD"},
		{url: "git+https://host/repo//@refs/tags/v1", remote: "https://host/repo", ref: "refs/tags/v1", display: "refs/tags/v1"},
		{url: "git+file:///srv/git/repo.git", local: "/srv/git/repo.git", display: "HEAD"},
		{url: "git+file://localhost/srv/repo/", local: "/srv/repo", display: "HEAD"},
		{url: "git+file:///srv/repo//docs@main", local: "/srv/repo", sub: "docs", ref: "main", display: "main"},
		{url: "git+file:///srv/re%20po//a%40b@main", local: "/srv/re po", sub: "a@b", ref: "main", display: "main"},
		{url: "GIT+HTTPS://Host/repo", remote: "https://Host/repo", display: "HEAD"},
	} {
		l, err := parseURL(tc.url)
		if err != nil {
			t.Errorf("parseURL(%q): %v", tc.url, err)
			continue
		}
		commit := ""
		if !l.commit.IsZero() {
			commit = l.commit.String()
		}
		if l.remote != tc.remote || l.local != tc.local || l.subPath() != tc.sub || commit != tc.commit || l.ref != tc.ref || l.rev() != tc.display {
			t.Errorf("parseURL(%q) = remote %q local %q sub %q commit %q ref %q rev %q, want %q %q %q %q %q %q", tc.url,
				l.remote, l.local, l.subPath(), commit, l.ref, l.rev(), tc.remote, tc.local, tc.sub, tc.commit, tc.ref, tc.display)
		}
	}
}

func TestParseURLInvalid(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want error
		msg  string
	}{
		{"", storage.ErrInvalidURL, "want git+https"},
		{"https://github.com/org/repo.git", storage.ErrInvalidURL, "want git+https"},
		{"git+ssh://git@github.com/org/repo.git", storage.ErrInvalidURL, "credentials"},
		{"git+ssh://github.com/org/repo.git", storage.ErrInvalidURL, "want git+https"},
		{"git://github.com/org/repo.git", storage.ErrInvalidURL, "want git+https"},
		{"git+https://user:s3cret@host/repo", storage.ErrInvalidURL, "credentials"},
		{"git+https://tok3n@host/repo", storage.ErrInvalidURL, "credentials"},
		{"git+https://user:s3cret@host/re%zzpo", storage.ErrInvalidURL, "invalid URL escape"},
		{"git+https://host/repo?ref=v1", storage.ErrInvalidURL, "no query"},
		{"git+https://host/repo?", storage.ErrInvalidURL, "no query"},
		{"git+https://host/repo#main", storage.ErrInvalidURL, "no query or fragment"},
		{"git+https:host/repo", storage.ErrInvalidURL, "want git+https://host/path"},
		{"git+https:///repo", storage.ErrInvalidURL, "no host"},
		{"git+https://host", storage.ErrInvalidURL, "want git+https://host/path/to/repo"},
		{"git+https://host//sub@v1", storage.ErrInvalidURL, "no repository path"},
		{"git+file://server/srv/repo", storage.ErrInvalidURL, "local repository"},
		{"git+https://host/repo@", storage.ErrInvalidURL, "empty revision"},
		{"git+https://host/repo@v1//sub", storage.ErrInvalidURL, "last in the URL"},
		{"git+https://host/repo@bad..name", storage.ErrInvalidURL, "invalid revision"},
		{"git+https://host/repo@-x", storage.ErrInvalidURL, "invalid revision"},
		{"git+https://host/repo@main~1", storage.ErrInvalidURL, "invalid revision"},
		{"git+https://host/repo@" + strings.Repeat("a", 64), storage.ErrInvalidURL, "SHA-256"},
		{"git+https://host/repo//a/../../etc", storage.ErrUnsafePath, `".."`},
		{"git+file:///srv/../etc/repo", storage.ErrUnsafePath, `".."`},
		{"git+file:///srv/repo\x00", storage.ErrInvalidURL, ""},
		{"git+file:///srv/repo\n", storage.ErrInvalidURL, ""},
	} {
		_, err := parseURL(tc.url)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("parseURL(%q): %v, want %v saying %q", tc.url, err, tc.want, tc.msg)
		}
		if err != nil && (strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "tok3n")) {
			t.Errorf("parseURL(%q): the error shows the password: %v", tc.url, err)
		}
	}
}

func TestCapabilities(t *testing.T) {
	caps := New().Capabilities()
	for _, c := range []string{"storage:get-dir", "storage:revision"} {
		if !slices.Contains(caps, c) {
			t.Errorf("capabilities %q lack %s", caps, c)
		}
	}
	if slices.Contains(caps, "storage:put") || slices.Contains(caps, "storage:put-dir") {
		t.Errorf("capabilities %q offer Put", caps)
	}
}
