// Command mmbuild-plugin-kv is a storage plugin with options and a
// credential: kv://<bucket>/<key> is the file <bucket>/<key> in the folder
// the required option root names, and every call must carry the token
// (a writeOnly option, filled from a secret by a credentials: entry) that
// the folder's .token file holds. It shows the schema, the refusals the
// core relies on (unknown option, refused credential, unsafe key) and the
// SDK's plugin kit; main_test.go runs sdktest.Storage against it.
package main

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/redact"
	"github.com/mmbuild/mmbuild/sdk/safepath"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

func main() {
	plugin.Serve(
		plugin.WithName("kv"),
		plugin.WithVersion("0.1.0"),
		plugin.WithStorage("kv", store{}),
	)
}

//go:embed schema.json
var schema []byte

// store is stateless: everything comes with the request.
type store struct{}

var (
	_ storage.Storage = store{}
	_ plugin.Schemer  = store{}
	_ plugin.Capabler = store{}
)

// ConfigSchema publishes the options: root, and the credential token.
func (store) ConfigSchema() json.RawMessage { return schema }

// Capabilities announces Put and progress; the store holds files, not trees.
func (store) Capabilities() []string {
	return []string{storage.CapabilityPut, storage.CapabilityProgress}
}

// open checks the URL, the options and the credential, in that order, and
// returns the object's path.
func open(rawURL string, opts map[string]string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", storage.ErrInvalidURL, redact.QuoteURL(rawURL), redact.URLError(err))
	}
	if u.Scheme != "kv" || u.Host == "" || u.User != nil || strings.ContainsAny(rawURL, "?#") {
		return "", fmt.Errorf("%w: %s: want kv://<bucket>/<key>", storage.ErrInvalidURL, redact.QuoteURL(rawURL))
	}
	key := u.Host + u.Path
	if err := safepath.Check(key); err != nil {
		return "", fmt.Errorf("%s: %w", redact.QuoteURL(rawURL), err)
	}
	for k := range opts {
		if k != "root" && k != "token" {
			return "", fmt.Errorf("unknown kv storage option %s (known: root, token)", k)
		}
	}
	root := opts["root"]
	if !filepath.IsAbs(root) {
		return "", errors.New("option root: an absolute folder is required")
	}
	want, err := os.ReadFile(filepath.Join(root, ".token"))
	if err != nil {
		return "", fmt.Errorf("reading the store's token: %w", err)
	}
	// Never echo the token, not even a wrong one.
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(string(want))), []byte(opts["token"])) != 1 {
		return "", fmt.Errorf("%w: the token is wrong or missing", fs.ErrPermission)
	}
	return filepath.Join(root, "objects", filepath.FromSlash(key)), nil
}

// Stat describes a file; a folder of other keys is no object.
func (store) Stat(_ context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	_, fi, err := object(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	return &storage.StatResponse{Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// object opens the URL (see open) and describes the file it names.
func object(rawURL string, opts map[string]string) (string, fs.FileInfo, error) {
	p, err := open(rawURL, opts)
	if err != nil {
		return "", nil, err
	}
	fi, err := lstat(p)
	return p, fi, err
}

// lstat is os.Lstat where only a regular file exists.
func lstat(p string) (fs.FileInfo, error) {
	fi, err := os.Lstat(p)
	if errors.Is(err, syscall.ENOTDIR) || (err == nil && !fi.Mode().IsRegular()) {
		return nil, fmt.Errorf("%s: %w", filepath.Base(p), fs.ErrNotExist)
	}
	return fi, err
}

// Get copies the object to DestPath, with its executable bit.
func (store) Get(ctx context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	p, fi, err := object(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	n, err := copyFile(ctx, p, req.DestPath, fi.Mode().Perm(), progress.NewMeter(req.Report, fi.Size()))
	if err != nil {
		return nil, err
	}
	return &storage.GetResponse{Bytes: n, Files: 1}, nil
}

// Put stores a file atomically: readers see the old object or the new one.
func (store) Put(ctx context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	p, err := open(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(req.SourcePath)
	if err != nil {
		return nil, fmt.Errorf("reading the source: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a file: the kv store holds files: %w", req.SourcePath, errors.ErrUnsupported)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("creating the key's folder: %w", err)
	}
	tmp := p + ".partial-" + filepath.Base(req.SourcePath)
	n, err := copyFile(ctx, req.SourcePath, tmp, fi.Mode().Perm(), progress.NewMeter(req.Report, fi.Size()))
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	return &storage.PutResponse{Bytes: n, Files: 1}, nil
}

// copyFile copies src to the new file dst with mode perm, reporting
// progress and stopping when ctx is cancelled; on error dst is removed.
func copyFile(ctx context.Context, src, dst string, perm fs.FileMode, m *progress.Meter) (n int64, err error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(dst, perm) // whatever the umask
		}
		if err != nil {
			_ = os.Remove(dst)
		}
	}()
	const step = 1 << 20
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		c, err := io.CopyN(out, in, step)
		n += c
		m.Add(c, "")
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
