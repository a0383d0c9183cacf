// Package outfile writes the files a command leaves behind so that a
// reader never sees one half-written, and a set of them appears together
// or not at all.
package outfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Check refuses path as the place of an output before anything is
// written: an existing folder (renaming onto it would fail only at the
// end, after a run has published), and any of inputs (the project's config
// and lock file), which an output must never replace or append to — also
// through a symlink or a hard link.
func Check(path string, inputs ...string) error {
	if err := check(path, inputs); err != nil {
		return &WriteError{Path: path, Err: err}
	}
	return nil
}

func check(path string, inputs []string) error {
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return errors.New("it is a folder, not a file")
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		if ii, err := os.Stat(in); err == nil && os.SameFile(fi, ii) {
			return fmt.Errorf("it is the project's %s, which no output replaces", filepath.Base(in))
		}
	}
	return nil
}

// WriteAtomic writes data to path through a temporary file in the same
// folder, so a reader never sees a half-written file. A regular file that
// already holds data with mode is left as it is: rewriting it costs an
// fsync, which waits for whatever else the file system has to write (a
// cache hit rewrote its unchanged local attestation, and waited ~30 ms
// behind the previous run's upload to an S3 server on the same disk).
func WriteAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if holds(path, data, mode) {
		return nil
	}
	tmp, err := Temp(path, data, mode)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// holds reports whether path is a regular file (not a link) of mode that
// holds exactly data.
func holds(path string, data []byte, mode os.FileMode) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != mode.Perm() || fi.Size() != int64(len(data)) {
		return false
	}
	old, err := os.ReadFile(path)
	return err == nil && bytes.Equal(old, data)
}

// Temp writes data, synced, to a new temporary file beside path and
// returns its name.
func Temp(path string, data []byte, mode os.FileMode) (string, error) {
	if err := check(path, nil); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, mode)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return "", werr
	}
	return tmp, nil
}

// File is one file of a set.
type File struct {
	Path string
	Data []byte
}

// WriteAll writes every file to a temporary one beside it first, then
// renames them all into place: a full disk or an unwritable folder leaves
// none of them.
func WriteAll(files []File, mode os.FileMode) error {
	tmps, err := TempAll(files, mode)
	if err != nil {
		return err
	}
	for i, f := range files {
		if tmps[i] == "" {
			continue // it holds the bytes already
		}
		if err := os.Rename(tmps[i], f.Path); err != nil {
			for _, t := range tmps[i:] {
				if t != "" {
					_ = os.Remove(t)
				}
			}
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	return nil
}

// WriteError is a file of a set that could not be written.
type WriteError struct {
	Path string
	Err  error
}

func (e *WriteError) Error() string { return fmt.Sprintf("writing %s: %v", e.Path, e.Err) }
func (e *WriteError) Unwrap() error { return e.Err }

// TempAll writes each file, synced, to a temporary file beside it (making
// its folder), all at once so that the file system commits their syncs
// together, and returns the temporary names in the order of files. A file
// that already holds its bytes with mode gets none: its name is "" (see
// WriteAtomic). On error none of them is left.
func TempAll(files []File, mode os.FileMode) ([]string, error) {
	tmps := make([]string, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() {
			err := os.MkdirAll(filepath.Dir(f.Path), 0o755)
			if err == nil && !holds(f.Path, f.Data, mode) {
				tmps[i], err = Temp(f.Path, f.Data, mode)
			}
			if err != nil {
				errs[i] = &WriteError{Path: f.Path, Err: err}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			for _, t := range tmps {
				if t != "" {
					_ = os.Remove(t)
				}
			}
			return nil, err
		}
	}
	return tmps, nil
}
