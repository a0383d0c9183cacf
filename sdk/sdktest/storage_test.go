package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// dirStore is a read-only backend serving the files and trees under a local
// directory as ro://any/<path>: just enough to run the suite in ReadOnly mode
// with trees. It is a test double, not an example of safe code (it follows
// symlinks).
type dirStore struct{ root string }

func (s dirStore) path(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %v", storage.ErrInvalidURL, err)
	}
	if u.Scheme != "ro" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: %q", storage.ErrInvalidURL, raw)
	}
	return filepath.Join(s.root, filepath.FromSlash(u.Path)), nil
}

func (s dirStore) stat(raw string, opts map[string]string) (string, fs.FileInfo, error) {
	for k := range opts {
		return "", nil, fmt.Errorf("ro storage takes no options, got %s", k)
	}
	p, err := s.path(raw)
	if err != nil {
		return "", nil, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, syscall.ENOTDIR) {
		err = fmt.Errorf("%w: %v", fs.ErrNotExist, err)
	}
	return p, fi, err
}

func (s dirStore) Stat(_ context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	_, fi, err := s.stat(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if fi.IsDir() {
		size = -1
	}
	return &storage.StatResponse{IsDir: fi.IsDir(), Size: size, ModTime: fi.ModTime()}, nil
}

func (s dirStore) Get(ctx context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	p, fi, err := s.stat(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		if err := copyFile(p, req.DestPath, fi); err != nil {
			return nil, err
		}
		return &storage.GetResponse{Bytes: fi.Size(), Files: 1}, nil
	}
	resp := &storage.GetResponse{IsDir: true}
	err = filepath.WalkDir(p, func(src string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(p, src)
		dest := filepath.Join(req.DestPath, rel)
		if d.IsDir() {
			return os.Mkdir(dest, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		resp.Bytes += info.Size()
		resp.Files++
		return copyFile(src, dest, info)
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (dirStore) Put(context.Context, *storage.PutRequest) (*storage.PutResponse, error) {
	return nil, fmt.Errorf("read-only: %w", errors.ErrUnsupported)
}

func copyFile(src, dest string, fi fs.FileInfo) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dest, data, fi.Mode().Perm()); err != nil {
		return err
	}
	return os.Chmod(dest, fi.Mode().Perm())
}

// seed copies the fixture at src into the store's directory.
func (s dirStore) seed(t testing.TB, rel, src string) {
	dest := filepath.Join(s.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() {
		if err := copyFile(src, dest, fi); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.CopyFS(dest, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

func TestStorageReadOnly(t *testing.T) {
	s := dirStore{root: t.TempDir()}
	conn := sdktest.Serve(t, plugin.WithName("ro"), plugin.WithStorage("ro", s))
	sdktest.Storage(t, conn.Storage(), "ro://bucket/", sdktest.ReadOnly(s.seed))
}

func TestStorageReadOnlyDirect(t *testing.T) {
	s := dirStore{root: t.TempDir()}
	sdktest.Storage(t, s, "ro://bucket/", sdktest.ReadOnly(s.seed))
}
