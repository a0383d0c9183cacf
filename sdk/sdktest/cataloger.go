package sdktest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/safepath"
	"github.com/mmbuild/mmbuild/sdk/sbom"
)

// CatalogerCases describe an artifact for Cataloger. What is inside an
// artifact is the cataloger's business, so its author supplies one and says
// what must be found in it.
type CatalogerCases struct {
	// CatalogerID is the sbom.generator the requests carry. Required.
	CatalogerID string
	// Artifact writes an artifact the cataloger reads into dir, a fresh
	// t.TempDir(), and returns its path. It must hold at least two entries
	// (packages and files together). Required.
	Artifact func(t testing.TB, dir string) string
	// Options are sent with every request. Default: none.
	Options map[string]string
	// WantPackages are names of packages the catalog must hold.
	WantPackages []string
	// WantFiles are paths of files the catalog must hold.
	WantFiles []string
}

var (
	hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hex40 = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// Cataloger runs the conformance suite of the SBOM cataloger contract
// (sbom.Cataloger) against c, as subtests of t:
//
//   - Catalog: the artifact is cataloged; the result's SHA256 is the
//     artifact's, Tool is set; every file has a plain relative path (no
//     "..", no leading "/"), a size and hex sha256 and sha1; every package
//     a name and a location; WantPackages and WantFiles are there;
//   - Deterministic: a second catalog gives the same entries;
//   - MaxEntries: a bound below the catalog's size fails with
//     sbom.ErrTooMany;
//   - UnknownOption: an option key the cataloger does not know is refused,
//     naming the key;
//   - Missing: a path that does not exist is an error;
//   - Cancel: a cancelled context is an error, not a catalog.
//
// c is the implementation itself, the same through the wire
// (Serve(t, ...).Cataloger()), or a real binary (Start(t,
// path).Cataloger()).
func Cataloger(t *testing.T, c sbom.Cataloger, cases CatalogerCases) {
	t.Helper()
	if cases.CatalogerID == "" || cases.Artifact == nil {
		t.Fatal("sdktest.Cataloger: CatalogerID and Artifact are required")
	}
	s := &catalogSuite{c: c, cases: cases}
	t.Run("Catalog", s.catalog)
	t.Run("Deterministic", s.deterministic)
	t.Run("MaxEntries", s.maxEntries)
	t.Run("UnknownOption", s.unknownOption)
	t.Run("Missing", s.missing)
	t.Run("Cancel", s.cancel)
}

type catalogSuite struct {
	c     sbom.Cataloger
	cases CatalogerCases
}

// catalogOf is what one Catalog call gave.
type catalogOf struct {
	packages []sbom.Package
	files    []sbom.File
	result   *sbom.CatalogResult
}

// run catalogs path with opts (the cases' when nil) and bound max.
func (s *catalogSuite) run(ctx context.Context, path string, opts map[string]string, max int64) (*catalogOf, error) {
	if opts == nil {
		opts = s.cases.Options
	}
	req := &sbom.CatalogRequest{CatalogerID: s.cases.CatalogerID, Name: filepath.Base(path), Path: path, Options: maps.Clone(opts), MaxEntries: max}
	out := &catalogOf{}
	res, err := s.c.Catalog(ctx, req, func(ch sbom.Chunk) error {
		// The slices are the cataloger's to reuse: copy what is kept.
		out.packages = append(out.packages, slices.Clone(ch.Packages)...)
		out.files = append(out.files, slices.Clone(ch.Files)...)
		return nil
	})
	out.result = res
	return out, err
}

// artifact writes the cases' artifact and returns its path.
func (s *catalogSuite) artifact(t *testing.T) string {
	t.Helper()
	p := s.cases.Artifact(t, t.TempDir())
	if !filepath.IsAbs(p) {
		t.Fatalf("Artifact returned %q, want an absolute path", p)
	}
	return p
}

func (s *catalogSuite) catalog(t *testing.T) {
	p := s.artifact(t)
	got, err := s.run(t.Context(), p, nil, 0)
	if err != nil {
		t.Fatalf("Catalog %s: %v", p, err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got.result == nil || got.result.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("result %+v, want SHA256 %x (the artifact's)", got.result, sum)
	}
	if got.result != nil && got.result.Tool == "" {
		t.Error("result: Tool is empty; name the tool and its version")
	}
	if n := len(got.packages) + len(got.files); n < 2 {
		t.Fatalf("the catalog holds %d entries; the suite needs an artifact with two or more", n)
	}
	for _, f := range got.files {
		if err := safepath.Check(f.Path); err != nil {
			t.Errorf("file %q: %v", f.Path, err)
		}
		if f.Size < 0 || !hex64.MatchString(f.SHA256) || !hex40.MatchString(f.SHA1) {
			t.Errorf("file %q: size %d, sha256 %q, sha1 %q: want a size and lowercase hex digests", f.Path, f.Size, f.SHA256, f.SHA1)
		}
	}
	for _, pk := range got.packages {
		if pk.Name == "" || len(pk.Locations) == 0 {
			t.Errorf("package %+v: want a name and a location", pk)
		}
	}
	for _, name := range s.cases.WantPackages {
		if !slices.ContainsFunc(got.packages, func(p sbom.Package) bool { return p.Name == name }) {
			t.Errorf("no package %q in the catalog", name)
		}
	}
	for _, path := range s.cases.WantFiles {
		if !slices.ContainsFunc(got.files, func(f sbom.File) bool { return f.Path == path }) {
			t.Errorf("no file %q in the catalog", path)
		}
	}
}

// keys are the entries as text, for comparing two catalogs in any order.
func (c *catalogOf) keys() []string {
	var out []string
	for _, p := range c.packages {
		out = append(out, fmt.Sprintf("package %s %s %s %s %q %q", p.Type, p.Name, p.Version, p.PURL, p.Licenses, p.Locations))
	}
	for _, f := range c.files {
		out = append(out, fmt.Sprintf("file %s %d %s %s", f.Path, f.Size, f.SHA256, f.SHA1))
	}
	slices.Sort(out)
	return out
}

func (s *catalogSuite) deterministic(t *testing.T) {
	p := s.artifact(t)
	a, err := s.run(t.Context(), p, nil, 0)
	if err != nil {
		t.Fatalf("Catalog %s: %v", p, err)
	}
	b, err := s.run(t.Context(), p, nil, 0)
	if err != nil {
		t.Fatalf("Catalog %s again: %v", p, err)
	}
	if ka, kb := a.keys(), b.keys(); !slices.Equal(ka, kb) {
		t.Errorf("two catalogs of one artifact differ:\n%s\n---\n%s", strings.Join(ka, "\n"), strings.Join(kb, "\n"))
	}
}

func (s *catalogSuite) maxEntries(t *testing.T) {
	p := s.artifact(t)
	all, err := s.run(t.Context(), p, nil, 0)
	if err != nil {
		t.Fatalf("Catalog %s: %v", p, err)
	}
	n := int64(len(all.packages) + len(all.files))
	if n < 2 {
		t.Fatalf("the catalog holds %d entries; the suite needs two or more", n)
	}
	got, err := s.run(t.Context(), p, nil, n-1)
	if !errors.Is(err, sbom.ErrTooMany) {
		t.Errorf("Catalog with MaxEntries %d of %d entries: %v, want sbom.ErrTooMany", n-1, n, err)
	}
	if m := int64(len(got.packages) + len(got.files)); m > n-1 {
		t.Errorf("Catalog with MaxEntries %d reported %d entries", n-1, m)
	}
	if _, err := s.run(t.Context(), p, nil, n); err != nil {
		t.Errorf("Catalog with MaxEntries %d, the catalog's size: %v", n, err)
	}
}

func (s *catalogSuite) unknownOption(t *testing.T) {
	p := s.artifact(t)
	opts := maps.Clone(s.cases.Options)
	if opts == nil {
		opts = map[string]string{}
	}
	opts[unknownKey] = "1"
	_, err := s.run(t.Context(), p, opts, 0)
	switch {
	case err == nil:
		t.Errorf("Catalog with the option %s: accepted, want it refused", unknownKey)
	case !strings.Contains(err.Error(), unknownKey):
		t.Errorf("Catalog with the option %s: %v: the error does not name the option", unknownKey, err)
	}
}

func (s *catalogSuite) missing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing.bin")
	if _, err := s.run(t.Context(), p, nil, 0); err == nil {
		t.Errorf("Catalog of a missing %s: no error", p)
	}
}

func (s *catalogSuite) cancel(t *testing.T) {
	p := s.artifact(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.run(ctx, p, nil, 0); err == nil {
		t.Error("Catalog with a cancelled context: no error")
	}
}
