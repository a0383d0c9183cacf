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
	"strconv"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/infile"
	"github.com/mmbuild/mmbuild/sdk/plugin"
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
	// Kinds is what the plugin serves ("handler:make", "storage:https"), as
	// it described itself when it was locked: sorted, each once. nil when
	// the lock does not record it (a lock written before kinds were).
	Kinds []string
}

// Serves reports whether e records kind.
func (e Entry) Serves(kind string) bool {
	return slices.Contains(e.Kinds, kind)
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
	// A lock file is a file, and a small one: a pipe would block the
	// open, a device would never end.
	src, err := infile.Read(path, MaxSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f := New()
		f.missing = true
		return f, nil
	case errors.Is(err, infile.ErrTooLarge):
		return nil, fmt.Errorf("reading lock file %s: larger than %d KiB", path, MaxSize>>10)
	case err != nil:
		return nil, fmt.Errorf("reading lock file: %w", err)
	}
	return Parse(src, path)
}

// MaxSize bounds a lock file: a few hundred bytes a plugin and platform.
const MaxSize = 1 << 20

// Missing reports whether Load found no file.
func (f *File) Missing() bool { return f.missing }

// Pin returns the entry of the plugin called name.
func (f *File) Pin(name string) (Entry, bool) {
	e, ok := f.entries[name]
	if !ok {
		return Entry{}, false
	}
	return e.clone(), true
}

func (e *Entry) clone() Entry {
	return Entry{Name: e.Name, Version: e.Version, Hashes: maps.Clone(e.Hashes), Kinds: slices.Clone(e.Kinds)}
}

// Clone returns a copy of f that shares nothing with it.
func (f *File) Clone() *File {
	g := &File{entries: make(map[string]*Entry, len(f.entries)), missing: f.missing}
	for name, e := range f.entries {
		c := e.clone()
		g.entries[name] = &c
	}
	return g
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

// SetKinds records what the plugin called name serves, replacing what was
// recorded: each kind is "handler:<id>" or "storage:<scheme>" (see
// ParseKind); they are kept sorted, each once. No kinds (nil or empty)
// records none, as in a lock written before kinds were. The plugin must be
// pinned already (Set). SetKinds does not look at other plugins: see
// Conflicts.
func (f *File) SetKinds(name string, kinds []string) error {
	e, ok := f.entries[name]
	if !ok {
		return fmt.Errorf("recording the kinds of plugin %q: it is not pinned", name)
	}
	for _, k := range kinds {
		if _, _, err := ParseKind(k); err != nil {
			return fmt.Errorf("recording the kinds of plugin %q: %w", name, err)
		}
	}
	e.Kinds = nil
	if len(kinds) > 0 {
		e.Kinds = slices.Compact(slices.Sorted(slices.Values(kinds)))
	}
	return nil
}

// Claims returns the plugins whose entry records kind, sorted.
func (f *File) Claims(kind string) []string {
	var names []string
	for _, name := range f.Names() {
		if f.entries[name].Serves(kind) {
			names = append(names, name)
		}
	}
	return names
}

// Conflict is a kind that more than one plugin claims.
type Conflict struct {
	Kind    string
	Plugins []string // sorted
}

// Kinds lists, sorted and once each, the kinds the entries record of the
// class given ("sbom" lists every "sbom:<id>").
func (f *File) Kinds(class string) []string {
	var out []string
	for _, e := range f.entries {
		for _, k := range e.Kinds {
			if c, _, err := ParseKind(k); err == nil && c == class {
				out = append(out, k)
			}
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(out)))
}

// Conflicts lists the kinds that more than one entry records, sorted by
// kind. Load refuses such a file, and Write refuses to write one.
func (f *File) Conflicts() []Conflict {
	claims := map[string][]string{}
	for _, name := range f.Names() {
		for _, k := range f.entries[name].Kinds {
			claims[k] = append(claims[k], name)
		}
	}
	var out []Conflict
	for _, k := range slices.Sorted(maps.Keys(claims)) {
		if len(claims[k]) > 1 {
			out = append(out, Conflict{Kind: k, Plugins: claims[k]})
		}
	}
	return out
}

// Error says which plugins claim the kind.
func (c Conflict) Error() string {
	both := "both"
	if len(c.Plugins) > 2 {
		both = "all"
	}
	return fmt.Sprintf("plugins %s %s record kind %s (one plugin serves a kind)", quotedList(c.Plugins), both, c.Kind)
}

// quotedList quotes names for a message: `"a"`, `"a" and "b"`,
// `"a", "b" and "c"`.
func quotedList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	if len(quoted) < 2 {
		return strings.Join(quoted, "")
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
}

// ParseKind splits a kind, "handler:<id>" or "storage:<scheme>", into its
// class (plugin.KindHandler, plugin.KindStorage) and its id or scheme, which
// is lower case: [a-z][a-z0-9+.-]*.
func ParseKind(kind string) (class, id string, err error) {
	class, id, ok := strings.Cut(kind, ":")
	if !ok || (class != plugin.KindHandler && class != plugin.KindStorage && class != plugin.KindSBOM) {
		return "", "", fmt.Errorf("invalid kind %q (want %s:<id>, %s:<scheme> or %s:<id>)", kind, plugin.KindHandler, plugin.KindStorage, plugin.KindSBOM)
	}
	if !namePattern.MatchString(id) {
		what := class + " id"
		if class == plugin.KindStorage {
			what = "scheme"
		}
		return "", "", fmt.Errorf("invalid kind %q (want a lower-case %s: [a-z][a-z0-9+.-]*)", kind, what)
	}
	return class, id, nil
}

// Remove drops the plugin called name; it is not an error if it has no entry.
func (f *File) Remove(name string) { delete(f.entries, name) }

// Names returns the pinned plugins' names, sorted.
func (f *File) Names() []string { return slices.Sorted(maps.Keys(f.entries)) }

// Write writes f to path atomically (a temporary file in the same directory,
// renamed over path), with mode 0644. It refuses a File with Conflicts,
// which Load would reject. After a write, Missing reports false.
func (f *File) Write(path string) (err error) {
	if c := f.Conflicts(); len(c) > 0 {
		return fmt.Errorf("writing lock file %s: %w", path, c[0])
	}
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
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	f.missing = false
	return nil
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
