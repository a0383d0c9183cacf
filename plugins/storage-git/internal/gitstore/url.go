package gitstore

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/mmbuild/mmbuild/sdk/redact"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// location is a parsed git+… URL.
type location struct {
	raw    string   // the URL as given (it holds no credentials)
	remote string   // https://… or http://… for a remote repository, else ""
	local  string   // the repository's absolute path for git+file, else ""
	sub    []string // path components inside the tree; empty for its root
	commit plumbing.Hash
	ref    string // a branch, tag or full ref name; "" with commit, or for HEAD
}

// name is what the object goes by: the last path component inside the
// tree, else the repository's name without ".git" ("repo" for
// git+https://host/org/repo.git@v1).
func (l *location) name() string {
	if len(l.sub) > 0 {
		return l.sub[len(l.sub)-1]
	}
	r := l.remote
	if r == "" {
		r = l.local
	}
	r = strings.TrimRight(r, "/")
	if i := strings.LastIndexByte(r, '/'); i >= 0 {
		r = r[i+1:]
	}
	return strings.TrimSuffix(r, ".git")
}

// repo names the repository in messages.
func (l *location) repo() string {
	if l.remote != "" {
		return l.remote
	}
	return l.local
}

// rev names the revision asked for in messages.
func (l *location) rev() string {
	switch {
	case !l.commit.IsZero():
		return l.commit.String()
	case l.ref != "":
		return l.ref
	}
	return "HEAD"
}

// subPath is the sub-path, "/"-joined; "" for the root.
func (l *location) subPath() string { return strings.Join(l.sub, "/") }

// parseURL checks a git+… URL and splits it into repository, sub-path and
// revision. Anything it cannot use is storage.ErrInvalidURL; ".." in the
// sub-path is storage.ErrUnsafePath.
func parseURL(raw string) (*location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, which may hold a password.
		err = redact.URLError(err) // a *url.Error repeats the raw URL
		return nil, fmt.Errorf("%w: parsing a git URL: %v", storage.ErrInvalidURL, err)
	}
	if u.User != nil {
		// Not even the user is shown: a token is often given as the user.
		u.User = nil
		return nil, fmt.Errorf("%w: %s: credentials in a git URL are refused: pass a token (and user) in the options, from a secret",
			storage.ErrInvalidURL, u)
	}
	invalid := func(why string) error {
		return fmt.Errorf("%w: %q: %s", storage.ErrInvalidURL, raw, why)
	}
	scheme, ok := strings.CutPrefix(u.Scheme, "git+")
	if !ok || (scheme != "https" && scheme != "http" && scheme != "file") {
		return nil, invalid("want git+https://, git+http:// or git+file://")
	}
	switch {
	case u.Opaque != "" || !strings.HasPrefix(u.Path, "/"):
		return nil, invalid("want " + u.Scheme + "://host/path/to/repo[//sub/path][@rev]")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return nil, invalid("a git URL takes no query or fragment: write repo[//sub/path][@rev]")
	case strings.ContainsRune(u.Path, 0):
		return nil, invalid("NUL in path")
	}

	l := &location{raw: raw}
	p := u.Path
	if i := strings.LastIndexByte(p, '@'); i >= 0 {
		rev := p[i+1:]
		p = p[:i]
		if err := l.setRevision(rev); err != nil {
			return nil, invalid(err.Error())
		}
	}
	repoPath, sub, _ := strings.Cut(p, "//")
	for _, c := range strings.Split(sub, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return nil, fmt.Errorf("%w: %q: \"..\" in the path inside the repository", storage.ErrUnsafePath, raw)
		}
		l.sub = append(l.sub, c)
	}
	if strings.Trim(repoPath, "/") == "" {
		return nil, invalid("no repository path")
	}

	if scheme == "file" {
		if u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
			return nil, invalid("git+file names a local repository: git+file:///abs/path")
		}
		for _, c := range strings.Split(repoPath, "/") {
			if c == ".." {
				return nil, fmt.Errorf("%w: %q: \"..\" in the repository path", storage.ErrUnsafePath, raw)
			}
		}
		l.local = filepath.Clean(filepath.FromSlash(repoPath))
		return l, nil
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, invalid("no host")
	}
	l.remote = (&url.URL{Scheme: scheme, Host: u.Host, Path: strings.TrimRight(repoPath, "/")}).String()
	return l, nil
}

// setRevision reads what follows "@": a full commit id or a ref name.
func (l *location) setRevision(rev string) error {
	switch {
	case rev == "":
		return errors.New("empty revision after \"@\" (leave \"@\" out for the default branch)")
	case rev == "HEAD":
		return nil
	case len(rev) == 64 && isHex(rev):
		return fmt.Errorf("revision %s is a SHA-256 commit id: SHA-256 repositories are not supported", rev)
	case len(rev) == 40 && isHex(rev):
		l.commit = plumbing.NewHash(strings.ToLower(rev))
		return nil
	}
	full := rev
	if !strings.HasPrefix(rev, "refs/") {
		full = "refs/heads/" + rev
	}
	if strings.ContainsAny(rev, ":*+^~?[\\ \t\n{}") || strings.HasPrefix(rev, "-") ||
		plumbing.ReferenceName(full).Validate() != nil {
		return fmt.Errorf("invalid revision %q: want a full commit id, a branch or a tag, last in the URL (repo//sub/path@rev)", rev)
	}
	l.ref = rev
	return nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
