package binary

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// InsecureError reports a plugin binary someone other than the user or root
// could change.
type InsecureError struct {
	Path, Reason string
}

func (e *InsecureError) Error() string {
	return fmt.Sprintf("refusing to run plugin %s: %s: anyone who can change it could run code as you (fix the permissions, or install the plugin somewhere only you and root can write)", e.Path, e.Reason)
}

// File is a plugin binary opened for verified execution.
type File struct {
	Path string // as found
	f    *os.File
	st   os.FileInfo
	dups []int // descriptors ExecPath made
}

// Open checks who could change the binary at path and opens it. The file
// opened is the one that was checked: a swap in between is refused.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening plugin binary: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening plugin binary: %w", err)
	}
	if reason := Insecure(path); reason != "" {
		f.Close()
		return nil, &InsecureError{Path: path, Reason: reason}
	}
	// Insecure looked at the path again: make sure it still names the
	// file that is open.
	if now, err := os.Stat(path); err != nil || !os.SameFile(now, st) {
		f.Close()
		return nil, fmt.Errorf("plugin binary %s changed while it was being checked", path)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("plugin binary %s is not a regular file", path)
	}
	return &File{Path: path, f: f, st: st}, nil
}

// Descriptor is the open file, for a launcher that passes it on to the
// process it starts (a box runs the verified bytes through it). It stays
// owned by b.
func (b *File) Descriptor() *os.File { return b.f }

// Close closes the descriptor. Call it once the process started.
func (b *File) Close() error {
	closeDups(b.dups)
	b.dups = nil
	return b.f.Close()
}

// SHA256 returns "sha256:<hex>" of the open file's bytes: from cache when
// it holds an entry for exactly this file state, else hashed through the
// descriptor (and stored). cache may be nil.
func (b *File) SHA256(cache *SumCache) (string, error) {
	id, ok := identity(b.st)
	if ok && cache != nil {
		if sum, hit := cache.get(id); hit {
			return sum, nil
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(b.f, 0, b.st.Size())); err != nil {
		return "", fmt.Errorf("hashing plugin binary %s: %w", b.Path, err)
	}
	// Hashing took time: refuse a file that changed meanwhile.
	if now, err := b.f.Stat(); err != nil || now.Size() != b.st.Size() || !now.ModTime().Equal(b.st.ModTime()) {
		return "", errors.New("plugin binary " + b.Path + " changed while it was hashed")
	}
	sum := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if ok && cache != nil {
		cache.put(id, sum)
	}
	return sum, nil
}

func fmtIdentity(dev, ino uint64, size, mtime, ctime int64) string {
	return strconv.FormatUint(dev, 10) + ":" + strconv.FormatUint(ino, 10) + ":" + strconv.FormatInt(size, 10) + ":" +
		strconv.FormatInt(mtime, 10) + ":" + strconv.FormatInt(ctime, 10)
}
