// Package outfile writes the files a command leaves behind so that a
// reader never sees one half-written, and a set of them appears together
// or not at all.
package outfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteAtomic writes data to path through a temporary file in the same
// folder, so a reader never sees a half-written file.
func WriteAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
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

// Temp writes data, synced, to a new temporary file beside path and
// returns its name.
func Temp(path string, data []byte, mode os.FileMode) (string, error) {
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
	tmps := make([]string, 0, len(files))
	discard := func() {
		for _, t := range tmps {
			_ = os.Remove(t)
		}
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			discard()
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
		tmp, err := Temp(f.Path, f.Data, mode)
		if err != nil {
			discard()
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
		tmps = append(tmps, tmp)
	}
	for i, f := range files {
		if err := os.Rename(tmps[i], f.Path); err != nil {
			tmps = tmps[i:]
			discard()
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	return nil
}
