package filestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

var errNoExchange = errors.New("atomic exchange not supported")

// exchangeDirs is exchange; tests replace it to exercise the fallback.
var exchangeDirs = exchange

// put writes src to dest so that a reader of dest sees the old object or the
// new one, never a part of one.
func put(ctx context.Context, src *source, dest string, p *progress.Meter) error {
	parent, name := filepath.Split(dest)
	if name == "" {
		return fmt.Errorf("%w: cannot put to /", storage.ErrInvalidURL)
	}
	old, err := os.Lstat(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil:
		return err
	case old.IsDir() && !src.dir:
		return fmt.Errorf("%s is a directory; a file would replace it", dest)
	case !old.IsDir() && src.dir:
		return fmt.Errorf("%s exists and is not a directory; a tree would replace it", dest)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(parent, hiddenName(name, "put"))
	if err := src.copyTo(ctx, tmp, true, p); err != nil {
		return err
	}
	if err := commit(tmp, dest, src.dir && old != nil); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	return syncDir(parent)
}

// commit moves the finished copy at tmp to dest. A directory already at dest
// is swapped out and removed.
func commit(tmp, dest string, replaceDir bool) error {
	if !replaceDir {
		// A file replaces a file atomically; a new directory appears at once.
		return os.Rename(tmp, dest)
	}
	err := exchangeDirs(tmp, dest)
	if err == nil {
		removeOld(tmp) // now the old tree
		return nil
	}
	if !errors.Is(err, errNoExchange) {
		return err
	}
	// Two renames: dest is briefly missing, never half-written.
	old := filepath.Join(filepath.Dir(dest), hiddenName(filepath.Base(dest), "old"))
	if err := os.Rename(dest, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		if rerr := os.Rename(old, dest); rerr != nil {
			return fmt.Errorf("%w (and restoring the old tree from %s: %v)", err, old, rerr)
		}
		return err
	}
	removeOld(old)
	return nil
}

// removeOld removes a replaced tree. The new one is in place by then, so a
// failure is only worth a warning.
func removeOld(p string) {
	if err := os.RemoveAll(p); err != nil {
		plugin.Logger().Warn("removing the replaced tree", "path", p, "error", err)
	}
}

// hiddenName names a temporary entry beside name.
func hiddenName(name, what string) string {
	if len(name) > 100 {
		name = name[:100]
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "." + name + ".mmbuild-" + what + "-" + hex.EncodeToString(b[:])
}
