// Package safepath checks the relative paths a storage backend creates
// below a destination, so a listing, a manifest or an archive that names
// "../x" or "/etc/x" cannot write outside it.
package safepath

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Check accepts a relative, "/"-separated path whose every segment is a
// plain name: no empty, "." or ".." segment, no leading "/", no backslash
// (a separator on Windows) and no control character. Anything else is
// storage.ErrUnsafePath, which the host reports as such.
func Check(rel string) error {
	if rel == "" || strings.HasPrefix(rel, "/") {
		return fmt.Errorf("%w: absolute or empty path", storage.ErrUnsafePath)
	}
	for _, r := range rel {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: control character %q", storage.ErrUnsafePath, r)
		}
		if r == '\\' {
			return fmt.Errorf("%w: backslash, a path separator elsewhere", storage.ErrUnsafePath)
		}
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: segment %q", storage.ErrUnsafePath, seg)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return fmt.Errorf("%w: not a local path", storage.ErrUnsafePath)
	}
	return nil
}
