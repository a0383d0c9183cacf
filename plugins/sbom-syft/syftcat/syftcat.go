// Package syftcat is the SBOM cataloger "sbom:syft": syft, as a library,
// says which packages an artifact holds, and this package lists the files
// inside tar, tar.gz and zip artifacts itself.
//
// One Catalog call:
//
//  1. hashes the artifact (sha256, streamed: CatalogResult.SHA256);
//  2. tells its format from its first bytes (tar, gzip-compressed tar, zip,
//     or any other file) and, for an archive, reads its members once, in a
//     stream: each regular file's path, size, sha256 and sha1 are reported
//     (option files), and its folders and regular files are unpacked into
//     a temporary folder for syft (nothing else: no links, no devices; no
//     member can be written outside that folder, see os.Root);
//  3. runs syft's package catalogers (option catalogers) on that folder,
//     or on the artifact itself when it is not an archive or is a Java
//     archive (jar, war, …, which syft's java cataloger reads whole).
//     syft is never let unpack archives itself (its own unpacking has no
//     size bound), nor use the network: remote license lookups (Go, npm,
//     Python), Maven Central and the local Maven repository are off, and
//     so is reading licenses from the host's Go module cache, which would
//     make the result depend on the machine;
//  4. reports the packages, their locations as paths inside the artifact
//     ("bin/app", "lib/app.jar!/META-INF/MANIFEST.MF", or the artifact's
//     name for a package found in the artifact itself).
//
// Bounds: MaxEntries (files plus packages, sbom.ErrTooMany beyond it), the
// option max-bytes (uncompressed member bytes read and unpacked), and ctx,
// checked between every read of steps 1 and 2. syft itself cannot be
// interrupted part-way: when ctx ends while it runs, Catalog returns ctx's
// error at once and syft finishes in the background, then its temporary
// folder is removed (a plugin process killed meanwhile leaves
// mmbuild-sbom-syft-* in the temporary directory behind).
package syftcat

import (
	"context"
	_ "embed" // the options' schema
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"
	"github.com/anchore/syft/syft/source/filesource"

	// syft's RPM database cataloger needs a registered sqlite driver
	// (syft's own command and examples import this one).
	_ "modernc.org/sqlite"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sbom"
)

// Cataloger implements sbom.Cataloger with syft. The zero value is ready.
type Cataloger struct{}

var (
	_ sbom.Cataloger = (*Cataloger)(nil)
	_ plugin.Schemer = (*Cataloger)(nil)
)

// New returns the syft cataloger.
func New() *Cataloger { return &Cataloger{} }

//go:embed schema.json
var schema []byte

// ConfigSchema implements plugin.Schemer: the JSON Schema of the options.
func (*Cataloger) ConfigSchema() json.RawMessage { return json.RawMessage(schema) }

// SyftVersion is the version of the syft module this binary was built
// with ("1.57.1"), from its build info; "unknown" when the binary has none.
func SyftVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/anchore/syft" {
				if d.Replace != nil && d.Replace.Version != "" {
					d = d.Replace
				}
				return strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	return "unknown"
}

// javaArchives are zip files syft's java cataloger reads whole (their
// manifest and pom files say what they are), so they are not unpacked.
var javaArchives = []string{".jar", ".war", ".ear", ".par", ".sar", ".nar", ".jpi", ".hpi", ".kar", ".lpkg"}

// Catalog implements sbom.Cataloger (see the package comment). Its errors
// are one line, "sbom:syft: NAME: …", and unwrap to their causes
// (sbom.ErrTooMany, fs.ErrNotExist, ErrTooLarge, ctx's error…).
func (c *Cataloger) Catalog(ctx context.Context, req *sbom.CatalogRequest, emit func(sbom.Chunk) error) (*sbom.CatalogResult, error) {
	res, err := c.catalog(ctx, req, emit)
	if err != nil {
		name := req.Name
		if name == "" {
			name = req.Path
		}
		return nil, &lineError{msg: "sbom:syft: " + name + ": " + strings.Join(strings.Fields(err.Error()), " "), err: err}
	}
	return res, nil
}

// lineError is an error on one line (syft's own may span several).
type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

func (c *Cataloger) catalog(ctx context.Context, req *sbom.CatalogRequest, emit func(sbom.Chunk) error) (*sbom.CatalogResult, error) {
	o, err := parseOptions(req.Options)
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(req.Path) {
		return nil, fmt.Errorf("path %q is not absolute", req.Path)
	}
	f, err := os.Open(req.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", req.Path)
	}
	sum, err := hashFile(ctx, f)
	if err != nil {
		return nil, err
	}
	res := &sbom.CatalogResult{SHA256: sum, Tool: "syft " + SyftVersion()}
	fm, err := detect(f)
	if err != nil {
		return nil, err
	}
	name := req.Name
	if name == "" {
		name = filepath.Base(req.Path)
	}
	isJava := slices.Contains(javaArchives, strings.ToLower(filepath.Ext(name)))
	unpack := !o.none && fm != formatFile && !isJava

	var tmp string
	cleanup := func() {}
	defer func() { cleanup() }()
	l := &lister{ctx: ctx, files: o.files, maxBytes: o.maxBytes, maxEntries: req.MaxEntries, emit: emit}
	if unpack {
		if tmp, err = os.MkdirTemp("", "mmbuild-sbom-syft-"); err != nil {
			return nil, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		if l.root, err = os.OpenRoot(tmp); err != nil {
			return nil, err
		}
		defer l.root.Close()
	}
	if fm != formatFile && (o.files || unpack) {
		if err := l.list(f, fm, fi.Size()); err != nil {
			return nil, err
		}
	}
	if o.none {
		return res, nil
	}

	// syft reads the unpacked folder, or the artifact as one file.
	var src source.Source
	var rel func(string) string
	if unpack {
		src, err = directorysource.New(directorysource.Config{Path: tmp, Base: tmp})
		rel = relative("", "")
	} else {
		src, err = filesource.New(filesource.Config{Path: req.Path, SkipExtractArchive: true})
		// syft locates the file as "/" and its base name.
		rel = relative("/"+filepath.Base(req.Path), name)
	}
	if err != nil {
		return nil, fmt.Errorf("syft: %w", err)
	}
	// From here the goroutine running syft owns src and the folder.
	done := cleanup
	cleanup = func() {}
	s, err := runSyft(ctx, src, SyftConfig(o.catalogers), done)
	if err != nil {
		return nil, err
	}
	pkgs := packages(s, rel)
	if req.MaxEntries > 0 && l.count+int64(len(pkgs)) > req.MaxEntries {
		return nil, fmt.Errorf("%w: %d files and %d packages, more than %d (MaxEntries)", sbom.ErrTooMany, l.count, len(pkgs), req.MaxEntries)
	}
	if len(pkgs) > 0 {
		if err := emit(sbom.Chunk{Packages: pkgs}); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// SyftConfig is the syft configuration Catalog runs syft with, for a
// catalogers option (syft's selection expression, "" for its defaults):
// package catalogers only (this package lists files), nothing fetched from
// the network, no CPEs.
func SyftConfig(catalogers string) *syft.CreateSBOMConfig {
	pk := pkgcataloging.DefaultConfig()
	pk.Golang = pk.Golang.WithSearchRemoteLicenses(false).WithSearchLocalModCacheLicenses(false).WithSearchLocalVendorLicenses(false)
	pk.JavaArchive = pk.JavaArchive.WithUseNetwork(false).WithUseMavenLocalRepository(false).WithResolveTransitiveDependencies(false)
	pk.JavaScript = pk.JavaScript.WithSearchRemoteLicenses(false)
	pk.Python = pk.Python.WithSearchRemoteLicenses(false)
	cfg := syft.DefaultCreateSBOMConfig().
		WithoutFiles().
		WithPackagesConfig(pk).
		WithDataGenerationConfig(cataloging.DefaultDataGenerationConfig().WithGenerateCPEs(false))
	if catalogers != "" {
		cfg = cfg.WithCatalogerSelection(selection(catalogers))
	}
	return cfg
}

// selection is syft's cataloger selection for a catalogers option:
// "+name" adds a cataloger to the set, "-name-or-tag" removes, and any
// other entry (a name or a tag) replaces syft's default set with the
// catalogers it names (syft --override-default-catalogers).
func selection(catalogers string) cataloging.SelectionRequest {
	sel := cataloging.NewSelectionRequest()
	for _, e := range strings.Split(catalogers, ",") {
		switch e = strings.TrimSpace(e); {
		case strings.HasPrefix(e, "+"):
			sel = sel.WithAdditions(strings.TrimSpace(e[1:]))
		case strings.HasPrefix(e, "-"):
			sel = sel.WithRemovals(strings.TrimSpace(e[1:]))
		default:
			sel = sel.WithDefaults(e)
		}
	}
	return sel
}

// runSyft runs syft on src in a goroutine that closes src and calls done
// when syft returns, and returns when syft does or ctx ends, whichever is
// first (syft does not stop part-way when ctx is cancelled).
func runSyft(ctx context.Context, src source.Source, cfg *syft.CreateSBOMConfig, done func()) (*syftsbom.SBOM, error) {
	type result struct {
		s   *syftsbom.SBOM
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r = result{err: fmt.Errorf("syft panicked: %v", p)}
			}
			src.Close()
			done()
			ch <- r
		}()
		sctx, err := withLicenseScanner(ctx)
		if err != nil {
			r.err = err
			return
		}
		r.s, r.err = syft.CreateSBOM(sctx, src, cfg)
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("syft: %w", r.err)
		}
		return r.s, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// relative maps a syft location to a path inside the artifact: a location
// that is file, or inside it (file!/…), starts with replace instead; the
// leading "/" of a path inside the unpacked folder goes.
func relative(file, replace string) func(string) string {
	return func(p string) string {
		if file != "" && (p == file || strings.HasPrefix(p, file+"!/")) {
			return replace + strings.TrimPrefix(p, file)
		}
		return strings.TrimPrefix(p, "/")
	}
}

// packages are syft's packages in its sorted order, with their licenses
// (SPDX expressions where syft has one) and locations inside the artifact.
func packages(s *syftsbom.SBOM, rel func(string) string) []sbom.Package {
	var out []sbom.Package
	for _, p := range s.Artifacts.Packages.Sorted() {
		sp := sbom.Package{Name: p.Name, Version: p.Version, Type: string(p.Type), PURL: p.PURL}
		for _, l := range p.Licenses.ToSlice() {
			v := l.SPDXExpression
			if v == "" {
				v = l.Value
			}
			if v != "" && !slices.Contains(sp.Licenses, v) {
				sp.Licenses = append(sp.Licenses, v)
			}
		}
		for _, loc := range p.Locations.ToSlice() {
			if lp := rel(loc.FullNestedPath()); lp != "" && !slices.Contains(sp.Locations, lp) {
				sp.Locations = append(sp.Locations, lp)
			}
		}
		out = append(out, sp)
	}
	return out
}
