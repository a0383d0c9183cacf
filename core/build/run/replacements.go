package run

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/outfile"
	"github.com/mmbuild/mmbuild/core/build/workspace"
)

// replacedFile is a work-tree file as the replacements leave it.
type replacedFile struct {
	path    string
	data    []byte
	mode    fs.FileMode
	changed bool
}

// replacedFiles are the files the replacements touch, in memory, in the
// order they were first read.
type replacedFiles struct {
	byPath map[string]*replacedFile
	order  []*replacedFile
}

// load returns the file at p, read once.
func (fs *replacedFiles) load(p string) (*replacedFile, error) {
	if f, ok := fs.byPath[p]; ok {
		return f, nil
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	f := &replacedFile{path: p, data: data, mode: fi.Mode().Perm()}
	fs.byPath[p] = f
	fs.order = append(fs.order, f)
	return f, nil
}

// applyReplacements replaces each tag with its value in its files, byte for
// byte, keeping each file's mode; paths must stay inside the work tree.
//
// It is all or nothing: every replacement is computed in memory, in order
// (a later one sees what an earlier one did to a file), and files are
// written only once all of them passed their checks. A refused replacement
// leaves the work tree as it was, so fixing the config and running again
// works.
func applyReplacements(t tools, workDir string, reps []config.Replacement, secrets map[string]string, running environ) error {
	files := &replacedFiles{byPath: map[string]*replacedFile{}}
	for i, rep := range reps {
		where := fmt.Sprintf("%s: replacements[%d]", rep.Pos, i)
		value, err := replacementValue(rep, secrets, running)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if err := replaceOne(t, workDir, files, rep, value); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	for _, f := range files.order {
		if !f.changed {
			continue
		}
		if err := outfile.WriteAtomic(f.path, f.data, f.mode); err != nil {
			return fmt.Errorf("replacements: writing %s: %w", f.path, err)
		}
	}
	return nil
}

// replaceOne applies one replacement to the in-memory files.
func replaceOne(t tools, workDir string, files *replacedFiles, rep config.Replacement, value string) error {
	found := false
	for _, rel := range rep.Paths {
		p, err := workspace.Join(workDir, rel)
		if err != nil {
			return fmt.Errorf("path %w", err)
		}
		f, err := files.load(p)
		if errors.Is(err, fs.ErrNotExist) {
			if rep.RequiredPaths {
				return fmt.Errorf("%s does not exist (requiredPaths)", rel)
			}
			t.log.Warn("replacement path does not exist", "path", rel)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		n := bytes.Count(f.data, []byte(rep.Tag))
		if n > 0 {
			f.data = bytes.ReplaceAll(f.data, []byte(rep.Tag), []byte(value))
			f.changed = true
		}
		found = found || n > 0
		t.log.Info("replaced", "tag", rep.Tag, "path", rel, "count", n)
	}
	if rep.Required && !found {
		return fmt.Errorf("tag %q not found in %v (required)", rep.Tag, rep.Paths)
	}
	return nil
}

// replacementValue is what a replacement's tag is replaced with.
func replacementValue(rep config.Replacement, secrets map[string]string, running environ) (string, error) {
	switch {
	case rep.Value != nil:
		return *rep.Value, nil
	case rep.ValueFrom != nil && rep.ValueFrom.Secret != "":
		v, ok := secrets[rep.ValueFrom.Secret]
		if !ok {
			return "", fmt.Errorf("secret %q is not declared", rep.ValueFrom.Secret)
		}
		return v, nil
	case rep.ValueFrom != nil && rep.ValueFrom.Env != "":
		v, ok := running.lookup(rep.ValueFrom.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", rep.ValueFrom.Env)
		}
		return v, nil
	}
	return "", nil
}
