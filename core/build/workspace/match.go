package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Match expands patterns (globs with ** relative to dir) to regular files
// inside dir: an absolute pattern, one with a ".." segment, and a match
// through a symlink leading out of dir are refused. Every pattern must
// match at least one file; where(i) names pattern i in errors.
func Match(workDir string, patterns []string, where func(i int) string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for i, pat := range patterns {
		if filepath.IsAbs(pat) || strings.HasPrefix(pat, "/") {
			return nil, fmt.Errorf("%s: %q is absolute: artifact paths are relative to the work tree", where(i), pat)
		}
		for _, seg := range strings.Split(pat, "/") {
			if seg == ".." {
				return nil, fmt.Errorf("%s: %q leaves the work tree", where(i), pat)
			}
		}
		if !doublestar.ValidatePattern(pat) {
			return nil, fmt.Errorf("%s: %q is not a valid glob", where(i), pat)
		}
		matches, err := doublestar.Glob(os.DirFS(workDir), pat, doublestar.WithFilesOnly(), doublestar.WithFailOnIOErrors())
		if err != nil {
			return nil, fmt.Errorf("%s: matching %q: %w", where(i), pat, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s: %q matched no file in %s", where(i), pat, workDir)
		}
		sort.Strings(matches)
		for _, m := range matches {
			p, err := Join(workDir, m)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where(i), err)
			}
			fi, err := os.Stat(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where(i), err)
			}
			if !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("%s: %s is not a regular file", where(i), m)
			}
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}
