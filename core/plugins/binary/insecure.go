package binary

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Insecure returns why the file at path could be changed by someone other
// than the user or root, or "" when it cannot: the file (through symlinks)
// and every folder above it, and above the link, must be owned by the user
// or root and not writable by group or others. A folder writable by others
// with the sticky bit (/tmp) is allowed: others cannot rename or remove
// what they do not own in it.
func Insecure(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Sprintf("cannot resolve %s: %v", path, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Sprintf("cannot resolve %s: %v", path, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return fmt.Sprintf("cannot stat %s: %v", real, err)
	}
	if reason := unsafeMode(st, false); reason != "" {
		return fmt.Sprintf("%s %s", real, reason)
	}
	dirs := ancestors(filepath.Dir(real))
	if d := filepath.Dir(abs); d != filepath.Dir(real) {
		dirs = append(dirs, ancestors(d)...)
	}
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Sprintf("cannot stat directory %s: %v", d, err)
		}
		if reason := unsafeMode(st, true); reason != "" {
			return fmt.Sprintf("directory %s %s", d, reason)
		}
	}
	return ""
}

// ancestors returns dir and every folder above it, up to the root.
func ancestors(dir string) []string {
	var out []string
	for {
		out = append(out, dir)
		up := filepath.Dir(dir)
		if up == dir {
			return out
		}
		dir = up
	}
}

// unsafeMode says why st could be changed by another user, or "".
func unsafeMode(st fs.FileInfo, isDir bool) string {
	m := st.Mode()
	sticky := isDir && m&fs.ModeSticky != 0
	if m.Perm()&0o022 != 0 && !sticky {
		return fmt.Sprintf("is writable by group or others (mode %04o)", m.Perm())
	}
	if uid, ok := owner(st); ok && uid != os.Getuid() && uid != 0 {
		return fmt.Sprintf("is owned by uid %d, neither you (uid %d) nor root", uid, os.Getuid())
	}
	return ""
}
