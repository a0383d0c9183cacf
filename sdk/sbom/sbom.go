// Package sbom defines what an SBOM cataloger plugin (kind "sbom:<id>")
// implements: it says what is inside an artifact. The core hashes every
// artifact itself and assembles the SBOM documents (SPDX, CycloneDX) with
// the build's source, materials and tools; a cataloger only reports the
// contents it finds.
package sbom

import (
	"context"
	"errors"
)

// ErrTooMany reports a catalog larger than CatalogRequest.MaxEntries.
var ErrTooMany = errors.New("too many SBOM entries")

// Cataloger reports the contents of one artifact.
type Cataloger interface {
	// Catalog reads the artifact at req.Path and reports what is inside
	// it through emit, in as many calls as it likes (each call's slices
	// are the cataloger's to reuse after emit returns), then returns the
	// result. It must stop, with an error, rather than report more than
	// req.MaxEntries packages and files together, and return when ctx is
	// cancelled.
	Catalog(ctx context.Context, req *CatalogRequest, emit func(Chunk) error) (*CatalogResult, error)
}

// CatalogRequest is one artifact to catalog.
type CatalogRequest struct {
	// CatalogerID is the id the build config names (sbom.generator), so
	// one binary can serve several.
	CatalogerID string
	// Name is the artifact's name as the attestation records it; Path the
	// absolute path of the file.
	Name, Path string
	// Options are cataloger-specific settings; unknown keys should be
	// refused.
	Options map[string]string
	// MaxEntries bounds the packages plus files reported (0: no bound).
	MaxEntries int64
}

// Chunk is part of what a cataloger found.
type Chunk struct {
	Packages []Package
	Files    []File
}

// Package is a software package found inside the artifact.
type Package struct {
	Name, Version string
	// Type is the ecosystem: "go-module", "npm", "deb", "binary"...
	Type string
	// PURL is the package URL (pkg:golang/…@v1.2.3), when known.
	PURL     string
	Licenses []string
	// Locations are the paths inside the artifact where it was found (the
	// artifact's own name when it is not an archive, a bare binary).
	Locations []string
}

// File is one file inside the artifact (an archive member).
type File struct {
	Path   string
	Size   int64
	SHA256 string
	// SHA1 is required too: SPDX 2.3 computes a package's verification
	// code from its files' sha1.
	SHA1 string
}

// CatalogResult closes a catalog.
type CatalogResult struct {
	// SHA256 is the hex digest of the file the cataloger read: the core
	// refuses contents of any file but the one it hashed.
	SHA256 string
	// Tool names the cataloguer and its version ("syft 1.57.1").
	Tool string
}
