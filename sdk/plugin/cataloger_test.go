package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

// listing reports n files in one emit call, then its result.
type listing struct{ n int }

func (l listing) Catalog(_ context.Context, req *sbom.CatalogRequest, emit func(sbom.Chunk) error) (*sbom.CatalogResult, error) {
	ch := sbom.Chunk{Packages: []sbom.Package{{Name: "golang.org/x/text", Version: "v0.3.0", Type: "go-module", PURL: "pkg:golang/golang.org/x/text@v0.3.0", Locations: []string{"bin/app"}}}}
	for i := range l.n {
		ch.Files = append(ch.Files, sbom.File{Path: fmt.Sprintf("dir/f%05d", i), Size: int64(i), SHA256: "ab"})
	}
	if err := emit(ch); err != nil {
		return nil, err
	}
	return &sbom.CatalogResult{SHA256: "cd", Tool: "listing 1"}, nil
}

// A catalog larger than one message arrives whole, in order, with its
// result; the kind is announced; the host's bound is enforced host-side.
func TestCatalogOverGRPC(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("sbom-listing"), plugin.WithCataloger("listing", listing{n: 5000}))
	info, err := conn.Info(context.Background())
	if err != nil || !info.HasKind("sbom:listing") {
		t.Fatalf("info %+v %v", info, err)
	}
	var files []sbom.File
	var pkgs []sbom.Package
	calls := 0
	res, err := conn.Cataloger().Catalog(context.Background(), &sbom.CatalogRequest{CatalogerID: "listing", Name: "app.tar", Path: "/x"}, func(c sbom.Chunk) error {
		calls++
		files = append(files, c.Files...)
		pkgs = append(pkgs, c.Packages...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 != "cd" || res.Tool != "listing 1" || len(files) != 5000 || files[4999].Path != "dir/f04999" || len(pkgs) != 1 || pkgs[0].PURL == "" || calls < 3 {
		t.Fatalf("result %+v, %d files, %d packages, %d chunks", res, len(files), len(pkgs), calls)
	}
	_, err = conn.Cataloger().Catalog(context.Background(), &sbom.CatalogRequest{CatalogerID: "listing", MaxEntries: 100}, func(sbom.Chunk) error { return nil })
	if !errors.Is(err, sbom.ErrTooMany) {
		t.Fatalf("over the bound: %v", err)
	}
	// A cataloger that stops on its own bound: the sentinel crosses the wire.
	bounded := sdktest.Serve(t, plugin.WithName("sbom-bounded"), plugin.WithCataloger("bounded", tooMany{}))
	_, err = bounded.Cataloger().Catalog(context.Background(), &sbom.CatalogRequest{CatalogerID: "bounded", MaxEntries: 10}, func(sbom.Chunk) error { return nil })
	if !errors.Is(err, sbom.ErrTooMany) {
		t.Fatalf("the plugin's own ErrTooMany: %v", err)
	}
	_, err = conn.Cataloger().Catalog(context.Background(), &sbom.CatalogRequest{CatalogerID: "other"}, func(sbom.Chunk) error { return nil })
	if err == nil {
		t.Fatal("an unknown cataloger id answered")
	}
}

// tooMany fails as a cataloger does when it reaches MaxEntries itself.
type tooMany struct{}

func (tooMany) Catalog(context.Context, *sbom.CatalogRequest, func(sbom.Chunk) error) (*sbom.CatalogResult, error) {
	return nil, fmt.Errorf("%w: more than 10", sbom.ErrTooMany)
}
