package discovery

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)

// ValidName reports whether name is a valid plugin name: [a-z][a-z0-9+.-]*.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// Candidate is a file named like a plugin in a directory of the search path.
type Candidate struct {
	Name string `json:"name"` // the part after "mmbuild-plugin-"
	Path string `json:"path"`
	Dir  Dir    `json:"dir"`
	// ShadowedBy is the path of the candidate of the same name that wins,
	// found earlier in the search path; "" when this one is not shadowed.
	ShadowedBy string `json:"shadowed_by,omitempty"`
}

// Scan lists every candidate in dirs, in search order (directories in the
// order given, files by name within one). A file counts when its name is
// "mmbuild-plugin-" followed by a valid name; anything else (a backup such as
// "mmbuild-plugin-x~", upper case) is skipped. Non-executable entries are
// listed too, so that an audit can report them, but, as in $PATH, they do
// not shadow: the first executable regular file of a name wins and every
// later candidate of that name is marked ShadowedBy it.
//
// Missing directories (and paths that are not directories) are skipped
// silently. Other errors reading a directory are joined into the returned
// error; the candidates of the other directories are still returned.
func Scan(dirs []Dir) ([]Candidate, error) {
	var out []Candidate
	var errs []error
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d.Path] {
			continue
		}
		seen[d.Path] = true
		entries, err := os.ReadDir(d.Path)
		if err != nil {
			if !skippable(err) {
				errs = append(errs, fmt.Errorf("scanning plugin directory %s: %w", d.Path, err))
			}
			// ReadDir returns what it read before an error.
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), plugin.BinaryPrefix)
			if !ok || !ValidName(name) {
				continue
			}
			out = append(out, Candidate{Name: name, Path: filepath.Join(d.Path, e.Name()), Dir: d})
		}
	}
	winner := map[string]string{}
	for i := range out {
		c := &out[i]
		if w, ok := winner[c.Name]; ok {
			c.ShadowedBy = w
			continue
		}
		if Runnable(c.Path) {
			winner[c.Name] = c.Path
		}
	}
	return out, errors.Join(errs...)
}

func skippable(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Runnable reports whether path is, after following symlinks, a regular
// file with an execute bit: what the search path counts as a plugin.
func Runnable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// Find returns the plugin called name: the first runnable candidate along
// dirs, the one Scan does not mark as shadowed. It stats one path per
// directory and lists none.
func Find(dirs []Dir, name string) (Candidate, error) {
	if !ValidName(name) {
		return Candidate{}, fmt.Errorf("invalid plugin name %q (want [a-z][a-z0-9+.-]*)", name)
	}
	nf := &NotFoundError{Name: name}
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d.Path] {
			continue
		}
		seen[d.Path] = true
		nf.Searched = append(nf.Searched, d.Path)
		path := filepath.Join(d.Path, plugin.BinaryPrefix+name)
		if Runnable(path) {
			return Candidate{Name: name, Path: path, Dir: d}, nil
		}
		if _, err := os.Lstat(path); err == nil {
			nf.Skipped = append(nf.Skipped, path)
		}
	}
	return Candidate{}, nf
}

// NotFoundError reports a plugin that is in none of the directories
// searched. It matches fs.ErrNotExist with errors.Is.
type NotFoundError struct {
	Name     string
	Searched []string // the directories, in order
	Skipped  []string // files of that name that are not executable regular files
}

// Error returns one line: `plugin "s3" not found (searched: /a, /b)`.
func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("plugin %q not found (searched: %s)", e.Name, strings.Join(e.Searched, ", "))
	if len(e.Searched) == 0 {
		msg = fmt.Sprintf("plugin %q not found (no plugin directories to search)", e.Name)
	}
	if len(e.Skipped) > 0 {
		msg += fmt.Sprintf("; skipped %s: not an executable file", strings.Join(e.Skipped, ", "))
	}
	return msg
}

// Unwrap makes errors.Is(err, fs.ErrNotExist) true.
func (e *NotFoundError) Unwrap() error { return fs.ErrNotExist }

// SHA256 hashes the file at path, streaming, and returns "sha256:<hex>", the
// form the lock file pins.
func SHA256(path string) (string, error) {
	set, _, err := digest.File(path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return "sha256:" + set[digest.SHA256], nil
}
