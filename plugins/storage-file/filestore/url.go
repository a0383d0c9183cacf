package filestore

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/mmbuild/mmbuild/sdk/redact"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// localPath returns the absolute, cleaned local path a file:// URL names.
func localPath(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: parsing %s: %v", storage.ErrInvalidURL, redact.QuoteURL(raw), redact.URLError(err))
	}
	invalid := func(why string) (string, error) {
		return "", fmt.Errorf("%w: %s: %s", storage.ErrInvalidURL, redact.QuoteURL(raw), why)
	}
	switch {
	case u.Scheme != "file":
		return invalid("not a file:// URL")
	case u.User != nil || (u.Host != "" && !strings.EqualFold(u.Host, "localhost")):
		return invalid("only local files: file:///path or file://localhost/path")
	case u.Opaque != "" || !strings.HasPrefix(u.Path, "/"):
		return invalid("the path must be absolute: file:///path")
	case strings.ContainsAny(raw, "?#"):
		return invalid("a file URL takes no query or fragment")
	case strings.ContainsRune(u.Path, 0):
		return invalid("NUL in path")
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == ".." {
			return "", fmt.Errorf("%w: %s: \"..\" in a file URL", storage.ErrUnsafePath, redact.QuoteURL(raw))
		}
	}
	return filepath.Clean(filepath.FromSlash(u.Path)), nil
}
