package run

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mmbuild/mmbuild/core/workspace"
)

// applyReplacements replaces each tag with its value in its files, byte for
// byte, keeping each file's mode; paths must stay inside the work tree.
func (r *runner) applyReplacements(secrets map[string]string) error {
	for i, rep := range r.cfg.Replacements {
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
			v, ok := r.o.lookupEnv(rep.ValueFrom.Env)
			if !ok {
				return fmt.Errorf("%s: environment variable %s is not set", where, rep.ValueFrom.Env)
			}
			value = v
		}
		found := false
		for _, rel := range rep.Paths {
			p, err := workspace.Join(r.workDir, rel)
			if err != nil {
				return fmt.Errorf("%s: path %w", where, err)
			}
			n, err := replaceInFile(p, []byte(rep.Tag), []byte(value))
			if errors.Is(err, fs.ErrNotExist) {
				if rep.RequiredPaths {
					return fmt.Errorf("%s: %s does not exist (requiredPaths)", where, rel)
				}
				r.o.logger.Warn("replacement path does not exist", "path", rel)
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %s: %w", where, rel, err)
			}
			found = found || n > 0
			r.o.logger.Info("replaced", "tag", rep.Tag, "path", rel, "count", n)
		}
		if rep.Required && !found {
			return fmt.Errorf("%s: tag %q not found in %v (required)", where, rep.Tag, rep.Paths)
		}
	}
	return nil
}

// replaceInFile rewrites path atomically with every tag replaced, keeping
// its mode. It returns how many were replaced.
func replaceInFile(path string, tag, value []byte) (int, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("not a regular file")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n := bytes.Count(data, tag)
	if n == 0 {
		return 0, nil
	}
	return n, writeFileAtomic(path, bytes.ReplaceAll(data, tag, value), fi.Mode().Perm())
}
