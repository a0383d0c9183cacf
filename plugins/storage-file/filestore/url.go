package filestore

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// localPath returns the absolute, cleaned local path a file:// URL names.
func localPath(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("%w: parsing %q: %v", storage.ErrInvalidURL, raw, err)
	}
	invalid := func(why string) (string, error) {
		return "", fmt.Errorf("%w: %q: %s", storage.ErrInvalidURL, u.Redacted(), why)
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
			return "", fmt.Errorf("%w: %q: \"..\" in a file URL", storage.ErrUnsafePath, u.Redacted())
		}
	}
	return filepath.Clean(filepath.FromSlash(u.Path)), nil
}
