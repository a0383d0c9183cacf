// Command mmbuild-plugin-cas is a third party's storage plugin, written
// from sdk/README.md alone and built outside the workspace (GOWORK=off,
// the SDK taken through a replace directive, as a plugin author developing
// against a local SDK would): cas://<name> names the object <name> in the
// folder the option root gives, and every call must carry the credential
// token that the folder's .token file holds. The e2e tests use it to show
// that a plugin the core has never heard of receives options and
// credentials without any change to the core.
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

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

//go:embed schema.json
var schema []byte

type store struct{}

func (store) ConfigSchema() json.RawMessage { return schema }

// object checks the options and the credential and returns the object's
// path.
func object(rawURL string, opts map[string]string) (string, error) {
	for k := range opts {
		if k != "root" && k != "token" {
			return "", fmt.Errorf("unknown option %q", k)
		}
	}
	root := opts["root"]
	if root == "" || !filepath.IsAbs(root) {
		return "", errors.New("option root: an absolute folder is required")
	}
	want, err := os.ReadFile(filepath.Join(root, ".token"))
	if err != nil {
		return "", fmt.Errorf("reading the store's token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(string(want))), []byte(opts["token"])) != 1 {
		return "", fmt.Errorf("%w: wrong or missing token", fs.ErrPermission)
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "cas" || u.Host == "" || u.Path != "" || strings.HasPrefix(u.Host, ".") {
		return "", fmt.Errorf("%w: want cas://<name>", storage.ErrInvalidURL)
	}
	return filepath.Join(root, u.Host), nil
}

func (store) Stat(_ context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	p, err := object(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	return &storage.StatResponse{Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

func (store) Get(_ context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	p, err := object(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	n, err := copyFile(p, req.DestPath)
	if err != nil {
		return nil, err
	}
	return &storage.GetResponse{Bytes: n, Files: 1}, nil
}

func (store) Put(_ context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	p, err := object(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	n, err := copyFile(req.SourcePath, p)
	if err != nil {
		return nil, err
	}
	return &storage.PutResponse{Bytes: n, Files: 1}, nil
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%w", fs.ErrNotExist)
	}
	if err != nil {
		return 0, err
	}
	defer in.Close()
	// The store holds single objects: a folder is refused, not half-copied.
	if fi, err := in.Stat(); err != nil {
		return 0, err
	} else if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%w: cas:// holds single files, not folders", errors.ErrUnsupported)
	}
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func main() {
	plugin.Serve(
		plugin.WithName("cas"),
		plugin.WithVersion("0.0.1"),
		plugin.WithStorage("cas", store{}),
	)
}
