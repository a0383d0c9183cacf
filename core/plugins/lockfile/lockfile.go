package lockfile

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
)

// FileName is the lock file's name, beside mmbuild.yaml.
const FileName = "mmbuild.lock.hcl"

const header = `# This file is maintained by "mmbuild plugins lock". Commit it beside mmbuild.yaml.` + "\n"

var (
	namePattern     = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)
	platformPattern = regexp.MustCompile(`^[a-z0-9]+_[a-z0-9]+$`)
)

// Entry pins one plugin.
type Entry struct {
	Name    string
	Version string            // as the plugin described itself when it was locked
	Hashes  map[string]string // platform ("linux_amd64") → "sha256:<hex>"
}

// Sum returns the pinned "sha256:<hex>" for platform.
func (e Entry) Sum(platform string) (string, bool) {
	s, ok := e.Hashes[platform]
	return s, ok
}

// File is the content of a lock file. The zero value is not usable; get one
// from Load or New.
type File struct {
	entries map[string]*Entry
	missing bool
}

// New returns an empty lock file.
func New() *File { return &File{entries: map[string]*Entry{}} }

// Platform returns the platform key of the running binary: GOOS_GOARCH.
func Platform() string { return runtime.GOOS + "_" + runtime.GOARCH }

// Load reads the lock file at path. A missing file is not an error: Load
// returns an empty File whose Missing method reports true. Any other problem
// (syntax, an unknown argument or block, a malformed sum) is an *Error
// carrying the file, line and column, on one line.
func Load(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		f := New()
		f.missing = true
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading lock file: %w", err)
	}
	return Parse(src, path)
}

// Missing reports whether Load found no file.
func (f *File) Missing() bool { return f.missing }

// Pin returns the entry of the plugin called name.
func (f *File) Pin(name string) (Entry, bool) {
	e, ok := f.entries[name]
	if !ok {
		return Entry{}, false
	}
	return Entry{Name: e.Name, Version: e.Version, Hashes: maps.Clone(e.Hashes)}, true
}

// Set pins the plugin called name at version, with sum for platform. The
// sums of other platforms are kept; the version is replaced. Set refuses an
// invalid name, platform or sum, which Load would reject.
func (f *File) Set(name, version, platform, sum string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("pinning plugin %q: invalid plugin name", name)
	}
	if !platformPattern.MatchString(platform) {
		return fmt.Errorf("pinning plugin %q: invalid platform %q (want GOOS_GOARCH)", name, platform)
	}
	if _, err := ParseSum(sum); err != nil {
		return fmt.Errorf("pinning plugin %q: %w", name, err)
	}
	e, ok := f.entries[name]
	if !ok {
		e = &Entry{Name: name, Hashes: map[string]string{}}
		f.entries[name] = e
	}
	e.Version = version
	e.Hashes[platform] = sum
	return nil
}

// Remove drops the plugin called name; it is not an error if it has no entry.
func (f *File) Remove(name string) { delete(f.entries, name) }

// Names returns the pinned plugins' names, sorted.
func (f *File) Names() []string { return slices.Sorted(maps.Keys(f.entries)) }

// Write writes f to path atomically (a temporary file in the same directory,
// renamed over path), with mode 0644.
func (f *File) Write(path string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing lock file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("writing lock file %s: %w", path, err)
		}
	}()
	if _, err = tmp.Write(f.Bytes()); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ParseSum checks that sum is "sha256:" followed by 64 lower-case hex digits
// and returns the hex part.
func ParseSum(sum string) (string, error) {
	h, ok := strings.CutPrefix(sum, "sha256:")
	if !ok || len(h) != 64 || strings.ToLower(h) != h {
		return "", fmt.Errorf("malformed sum %q (want \"sha256:\" and 64 lower-case hex digits)", sum)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("malformed sum %q (want \"sha256:\" and 64 lower-case hex digits)", sum)
	}
	return h, nil
}

// Error is a problem in a lock file, at a position.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

// Error returns one line: `mmbuild.lock.hcl:3:5: unsupported argument "foo"`.
func (e *Error) Error() string {
	return oneLine(fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg))
}

var newlines = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// oneLine makes sure a message never spans lines, whatever it quotes.
func oneLine(s string) string { return newlines.Replace(s) }
