// Package install puts a plugin binary into a plugin folder: verified
// against an expected sha256 when one is given, written atomically, never
// executed.
package install

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// FetchFunc downloads the object at a URL to dest (which does not exist),
// failing as soon as more than maxBytes have been written.
type FetchFunc func(ctx context.Context, rawURL, dest string, maxBytes int64) error

// MaxBinarySize bounds what an installation writes: far above any plugin
// binary (syft's is ~100 MB), far below a server that never stops.
const MaxBinarySize = 1 << 30

// Request is one installation.
type Request struct {
	// Source is a local path or a URL (fetched with Fetch).
	Source string
	// Name overrides the plugin name taken from the source's file name.
	Name string
	// Checksum, when set, is the "sha256:<hex>" the binary must have.
	Checksum string
	// DestDir is the plugin folder.
	DestDir string
	Fetch   FetchFunc
	// MaxBytes bounds the binary's size. Default: MaxBinarySize.
	MaxBytes int64
}

// Result says what was installed.
type Result struct {
	Name, Path, SHA256 string
}

// IsURL reports whether src names a URL rather than a local path.
func IsURL(src string) bool {
	u, err := url.Parse(src)
	return err == nil && len(u.Scheme) > 1 && strings.Contains(src, "://")
}

// Install copies or fetches the binary into DestDir as
// mmbuild-plugin-<name>, mode 0755, replacing an existing one atomically.
func Install(ctx context.Context, req Request) (*Result, error) {
	name, err := pluginName(req)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(req.DestDir, 0o755); err != nil {
		return nil, fmt.Errorf("installing %s: %w", req.Source, err)
	}
	// The binary is put together beside its destination, so the final
	// rename is atomic and a failure leaves nothing behind.
	tmpDir, err := os.MkdirTemp(req.DestDir, ".install-")
	if err != nil {
		return nil, fmt.Errorf("installing %s: %w", req.Source, err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "plugin")
	if req.MaxBytes <= 0 {
		req.MaxBytes = MaxBinarySize
	}
	if err := obtain(ctx, req, tmp); err != nil {
		return nil, err
	}
	sum, err := verifiedSum(tmp, req)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	dst := filepath.Join(req.DestDir, plugin.BinaryPrefix+name)
	if err := os.Rename(tmp, dst); err != nil {
		return nil, fmt.Errorf("installing %s: %w", req.Source, err)
	}
	return &Result{Name: name, Path: dst, SHA256: sum}, nil
}

// pluginName is the name to install under: req.Name, else the source's
// file name without the plugin prefix (which it must have, so that a file
// that is not a plugin is not installed by mistake).
func pluginName(req Request) (string, error) {
	base := ""
	if IsURL(req.Source) {
		u, _ := url.Parse(req.Source)
		base = path.Base(u.Path)
	} else {
		base = filepath.Base(req.Source)
	}
	name := req.Name
	if name == "" {
		if !strings.HasPrefix(base, plugin.BinaryPrefix) {
			return "", fmt.Errorf("installing %s: the file name does not start with %s; give the plugin's name with --name", req.Source, plugin.BinaryPrefix)
		}
		name = strings.TrimPrefix(base, plugin.BinaryPrefix)
	}
	if !discovery.ValidName(name) {
		return "", fmt.Errorf("installing %s: invalid plugin name %q", req.Source, name)
	}
	return name, nil
}

// obtain puts the source's bytes at tmp (which does not exist): fetched
// with req.Fetch for a URL, copied for a local path.
func obtain(ctx context.Context, req Request, tmp string) error {
	if IsURL(req.Source) {
		if req.Fetch == nil {
			return fmt.Errorf("installing %s: no way to fetch URLs", req.Source)
		}
		if err := req.Fetch(ctx, req.Source, tmp, req.MaxBytes); err != nil {
			return fmt.Errorf("installing %s: %w", req.Source, err)
		}
	} else if err := copyFile(req.Source, tmp, req.MaxBytes); err != nil {
		return fmt.Errorf("installing %s: %w", req.Source, err)
	}
	return nil
}

// verifiedSum returns the "sha256:<hex>" of the regular file at tmp, after
// checking it against req.Checksum when one is given: a mismatch installs
// nothing.
func verifiedSum(tmp string, req Request) (string, error) {
	fi, err := os.Lstat(tmp)
	if err != nil {
		return "", fmt.Errorf("installing %s: %w", req.Source, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("installing %s: not a regular file", req.Source)
	}
	if fi.Size() > req.MaxBytes {
		return "", fmt.Errorf("installing %s: %w", req.Source, tooLarge(req.MaxBytes))
	}
	set, _, err := digest.File(tmp)
	if err != nil {
		return "", fmt.Errorf("installing %s: %w", req.Source, err)
	}
	sum := "sha256:" + set[digest.SHA256]
	if req.Checksum != "" && !strings.EqualFold(req.Checksum, sum) {
		return "", fmt.Errorf("installing %s: checksum mismatch: expected %s, got %s; nothing installed", req.Source, req.Checksum, sum)
	}
	return sum, nil
}

func tooLarge(max int64) error {
	return fmt.Errorf("larger than %d bytes, the most a plugin binary may have; nothing installed", max)
}

// copyFile copies the regular file src to dst, at most max bytes.
func copyFile(src, dst string, max int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(in, max+1))
	if err == nil && n > max {
		err = tooLarge(max)
	}
	if err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
