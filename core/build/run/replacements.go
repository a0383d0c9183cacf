package run

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/workspace"
)

// replacedFile is a work-tree file as the replacements leave it.
type replacedFile struct {
	path    string
	data    []byte
	mode    fs.FileMode
	changed bool
}

// applyReplacements replaces each tag with its value in its files, byte for
// byte, keeping each file's mode; paths must stay inside the work tree.
//
// It is all or nothing: every replacement is computed in memory, in order
// (a later one sees what an earlier one did to a file), and files are
// written only once all of them passed their checks. A refused replacement
// leaves the work tree as it was, so fixing the config and running again
// works.
func applyReplacements(t tools, workDir string, reps []config.Replacement, secrets map[string]string) error {
	files := map[string]*replacedFile{}
	var order []*replacedFile
	load := func(p string) (*replacedFile, error) {
		if f, ok := files[p]; ok {
			return f, nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("not a regular file")
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		f := &replacedFile{path: p, data: data, mode: fi.Mode().Perm()}
		files[p] = f
		order = append(order, f)
		return f, nil
	}
	for i, rep := range reps {
		where := fmt.Sprintf("%s: replacements[%d]", rep.Pos, i)
		var value string
		switch {
		case rep.Value != nil:
			value = *rep.Value
		case rep.ValueFrom != nil && rep.ValueFrom.Secret != "":
			v, ok := secrets[rep.ValueFrom.Secret]
			if !ok {
				return fmt.Errorf("%s: secret %q is not declared", where, rep.ValueFrom.Secret)
			}
			value = v
		case rep.ValueFrom != nil && rep.ValueFrom.Env != "":
			v, ok := t.o.lookupEnv(rep.ValueFrom.Env)
			if !ok {
				return fmt.Errorf("%s: environment variable %s is not set", where, rep.ValueFrom.Env)
			}
			value = v
		}
		found := false
		for _, rel := range rep.Paths {
			p, err := workspace.Join(workDir, rel)
			if err != nil {
				return fmt.Errorf("%s: path %w", where, err)
			}
			f, err := load(p)
			if errors.Is(err, fs.ErrNotExist) {
				if rep.RequiredPaths {
					return fmt.Errorf("%s: %s does not exist (requiredPaths)", where, rel)
				}
				t.log.Warn("replacement path does not exist", "path", rel)
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %s: %w", where, rel, err)
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
			return fmt.Errorf("%s: tag %q not found in %v (required)", where, rep.Tag, rep.Paths)
		}
	}
	for _, f := range order {
		if !f.changed {
			continue
		}
		if err := writeFileAtomic(f.path, f.data, f.mode); err != nil {
			return fmt.Errorf("replacements: writing %s: %w", f.path, err)
		}
	}
	return nil
}
