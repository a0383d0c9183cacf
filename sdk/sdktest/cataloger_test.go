package sdktest_test

import (
	"archive/tar"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

// tarLister catalogs the regular files of a tar archive, and one package
// per archive: just enough to run the suite.
type tarLister struct{}

func (tarLister) Catalog(ctx context.Context, req *sbom.CatalogRequest, emit func(sbom.Chunk) error) (*sbom.CatalogResult, error) {
	for k := range req.Options {
		return nil, fmt.Errorf("tar lister takes no options, got %s", k)
	}
	f, err := os.Open(req.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	whole := sha256.New()
	tr := tar.NewReader(io.TeeReader(f, whole))
	ch := sbom.Chunk{Packages: []sbom.Package{{Name: "archive", Type: "tar", Locations: []string{req.Name}}}}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if req.MaxEntries > 0 && int64(len(ch.Files)+len(ch.Packages)) >= req.MaxEntries {
			return nil, fmt.Errorf("%w: more than %d", sbom.ErrTooMany, req.MaxEntries)
		}
		s256, s1 := sha256.New(), sha1.New()
		n, err := io.Copy(io.MultiWriter(s256, s1), tr)
		if err != nil {
			return nil, err
		}
		ch.Files = append(ch.Files, sbom.File{Path: h.Name, Size: n, SHA256: hex.EncodeToString(s256.Sum(nil)), SHA1: hex.EncodeToString(s1.Sum(nil))})
	}
	if _, err := io.Copy(whole, f); err != nil {
		return nil, err
	}
	if err := emit(ch); err != nil {
		return nil, err
	}
	return &sbom.CatalogResult{SHA256: hex.EncodeToString(whole.Sum(nil)), Tool: "tar-lister 1"}, nil
}

func writeTar(t testing.TB, dir string) string {
	p := filepath.Join(dir, "a.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for name, body := range map[string]string{"bin/app": "binary", "doc/README": "read me"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCataloger(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("sbom-tar"), plugin.WithCataloger("tar", tarLister{}))
	sdktest.Cataloger(t, conn.Cataloger(), sdktest.CatalogerCases{
		CatalogerID:  "tar",
		Artifact:     writeTar,
		WantPackages: []string{"archive"},
		WantFiles:    []string{"bin/app", "doc/README"},
	})
}
