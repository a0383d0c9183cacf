package sbom

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	spdxcommon "github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdxlib"
)

// NamespacePrefix starts every SPDX document namespace; the name and a
// hash of the inputs follow.
const NamespacePrefix = "https://mmbuild.dev/spdx/"

// noAssertion is SPDX's "nothing is said about this".
const noAssertion = "NOASSERTION"

var spdxAlgs = map[string]spdxcommon.ChecksumAlgorithm{
	"sha256": spdxcommon.SHA256, "sha512": spdxcommon.SHA512, "sha1": spdxcommon.SHA1,
}

// SPDXDocument returns the SPDX 2.3 JSON document of in:
//
//   - one package per artifact (its checksums, downloadLocation where it
//     was published), DESCRIBED by the document; with contents, its files
//     (filesAnalyzed, the verification code of their sha1) and the
//     packages found in it, each related by CONTAINS;
//   - the source (repository at its commit) as a package the artifacts are
//     GENERATED_FROM;
//   - every material as a package, BUILD_DEPENDENCY_OF each artifact;
//   - every tool (mmbuild, the handler plugin, the cataloguer) as a
//     creator and as a package BUILD_TOOL_OF each artifact.
//
// The document is validated by tools-golang before it is returned.
func SPDXDocument(in Inputs) ([]byte, error) {
	in, sum, err := in.prepared()
	if err != nil {
		return nil, err
	}
	w := &spdxWriter{
		doc: &spdx.Document{
			SPDXVersion:       spdx.Version,
			DataLicense:       spdx.DataLicense,
			SPDXIdentifier:    "DOCUMENT",
			DocumentName:      in.Name,
			DocumentNamespace: NamespacePrefix + safe(in.Name) + "-" + sum,
			CreationInfo:      &spdx.CreationInfo{Created: in.Created.Format("2006-01-02T15:04:05Z")},
		},
		ids: &idSet{used: map[spdxcommon.ElementID]bool{}},
	}
	if !slices.ContainsFunc(in.Tools, func(t Tool) bool { return t.Name == "mmbuild" }) {
		// No version known: mmbuild is named still, it wrote the document.
		w.doc.CreationInfo.Creators = append(w.doc.CreationInfo.Creators, spdx.Creator{CreatorType: "Tool", Creator: "mmbuild"})
	}
	for _, a := range in.Artifacts {
		w.artifact(a)
	}
	if in.Source != nil {
		w.source(*in.Source)
	}
	for _, m := range in.Materials {
		w.material(m)
	}
	for _, t := range in.Tools {
		w.tool(t)
	}
	if err := spdxlib.ValidateDocument(w.doc); err != nil {
		return nil, fmt.Errorf("writing SBOM: %w", err)
	}
	var buf bytes.Buffer
	if err := spdxjson.Write(w.doc, &buf, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("encoding SBOM: %w", err)
	}
	return buf.Bytes(), nil
}

// spdxWriter adds the elements of one document: each kind of input is a
// method, the artifacts first (the other elements relate to them).
type spdxWriter struct {
	doc       *spdx.Document
	ids       *idSet
	artifacts []spdxcommon.ElementID
}

func (w *spdxWriter) rel(a, b spdxcommon.ElementID, kind string) {
	w.doc.Relationships = append(w.doc.Relationships, &spdx.Relationship{
		RefA: spdxcommon.MakeDocElementID("", string(a)), RefB: spdxcommon.MakeDocElementID("", string(b)), Relationship: kind,
	})
}

// relToArtifacts relates id to every artifact: id KIND artifact.
func (w *spdxWriter) relToArtifacts(id spdxcommon.ElementID, kind string) {
	for _, aid := range w.artifacts {
		w.rel(id, aid, kind)
	}
}

// artifact adds an artifact's package, DESCRIBED by the document, and
// what the cataloger found in it.
func (w *spdxWriter) artifact(a Artifact) {
	id := w.ids.make("Artifact-" + a.Name)
	w.artifacts = append(w.artifacts, id)
	p := plainPackage(a.Name, id, "", orNoAssertion(a.DownloadLocation), purpose(a.Name))
	p.PackageFileName = a.Name
	p.PackageComment = fmt.Sprintf("%d bytes", a.Size)
	p.PackageChecksums = spdxChecksums(a.Digest)
	w.doc.Packages = append(w.doc.Packages, p)
	w.rel("DOCUMENT", id, spdxcommon.TypeRelationshipDescribe)
	if a.Contents != nil {
		w.contents(p, a)
	}
}

// contents adds the files and packages inside artifact package p, each
// related by CONTAINS; with files, p is filesAnalyzed with their
// verification code.
func (w *spdxWriter) contents(p *spdx.Package, a Artifact) {
	id := p.PackageSPDXIdentifier
	if len(a.Contents.Files) > 0 {
		p.FilesAnalyzed = true
		p.PackageVerificationCode = &spdxcommon.PackageVerificationCode{Value: verificationCode(a.Contents)}
		p.PackageLicenseInfoFromFiles = []string{noAssertion}
	}
	for _, f := range a.Contents.Files {
		fid := w.ids.make("File-" + a.Name + "-" + f.Path)
		w.doc.Files = append(w.doc.Files, &spdx.File{
			FileName:           "./" + strings.TrimPrefix(f.Path, "/"),
			FileSPDXIdentifier: fid,
			Checksums: []spdx.Checksum{
				{Algorithm: spdxcommon.SHA1, Value: strings.ToLower(f.SHA1)},
				{Algorithm: spdxcommon.SHA256, Value: strings.ToLower(f.SHA256)},
			},
			LicenseConcluded:   noAssertion,
			LicenseInfoInFiles: []string{noAssertion},
			FileCopyrightText:  noAssertion,
			FileComment:        fmt.Sprintf("%d bytes, in %s", f.Size, a.Name),
		})
		w.rel(id, fid, spdxcommon.TypeRelationshipContains)
	}
	for _, cp := range a.Contents.Packages {
		pid := w.ids.make("Package-" + a.Name + "-" + cp.Name + "-" + cp.Version)
		pkg := plainPackage(cp.Name, pid, cp.Version, noAssertion, "LIBRARY")
		pkg.PackageLicenseDeclared = licenseExpression(cp.Licenses)
		if cp.PURL != "" {
			pkg.PackageExternalReferences = []*spdx.PackageExternalReference{{
				Category: spdxcommon.CategoryPackageManager, RefType: spdxcommon.TypePackageManagerPURL, Locator: cp.PURL,
			}}
		}
		var notes []string
		if cp.Type != "" {
			notes = append(notes, "type "+cp.Type)
		}
		if len(cp.Locations) > 0 {
			notes = append(notes, "found at "+strings.Join(cp.Locations, ", "))
		}
		pkg.PackageComment = strings.Join(notes, "; ")
		w.doc.Packages = append(w.doc.Packages, pkg)
		w.rel(id, pid, spdxcommon.TypeRelationshipContains)
	}
}

// source adds the repository at its commit, which the artifacts are
// GENERATED_FROM.
func (w *spdxWriter) source(src Source) {
	id := w.ids.make("Source")
	w.doc.Packages = append(w.doc.Packages, plainPackage(src.Repo, id, src.Commit,
		"git+"+strings.TrimPrefix(src.Repo, "git+")+"@"+src.Commit, "SOURCE"))
	for _, aid := range w.artifacts {
		w.rel(aid, id, spdxcommon.TypeRelationshipGeneratedFrom)
	}
}

// material adds a material, a BUILD_DEPENDENCY_OF every artifact.
func (w *spdxWriter) material(m Material) {
	id := w.ids.make("Material-" + materialName(m.URI))
	loc := noAssertion
	if downloadable(m.URI) {
		loc = m.URI
	}
	p := plainPackage(materialName(m.URI), id, "", loc, "")
	p.PackageComment = "material " + m.URI
	p.PackageChecksums = spdxChecksums(m.Digest)
	w.doc.Packages = append(w.doc.Packages, p)
	w.relToArtifacts(id, spdxcommon.TypeRelationshipBuildDependencyOf)
}

// tool adds a tool as a creator and as a package BUILD_TOOL_OF every
// artifact.
func (w *spdxWriter) tool(t Tool) {
	w.doc.CreationInfo.Creators = append(w.doc.CreationInfo.Creators, spdx.Creator{CreatorType: "Tool", Creator: t.Name + "-" + t.Version})
	id := w.ids.make("Tool-" + t.Name)
	w.doc.Packages = append(w.doc.Packages, plainPackage(t.Name, id, t.Version, noAssertion, "APPLICATION"))
	w.relToArtifacts(id, spdxcommon.TypeRelationshipBuildToolOf)
}

// plainPackage is a package of which nothing is asserted but its name,
// version, location and purpose: no files analysed, no licence, no
// copyright.
func plainPackage(name string, id spdxcommon.ElementID, version, location, purpose string) *spdx.Package {
	return &spdx.Package{
		PackageName:               name,
		PackageSPDXIdentifier:     id,
		PackageVersion:            version,
		PackageDownloadLocation:   location,
		FilesAnalyzed:             false,
		IsFilesAnalyzedTagPresent: true,
		PackageLicenseConcluded:   noAssertion,
		PackageLicenseDeclared:    noAssertion,
		PackageCopyrightText:      noAssertion,
		PrimaryPackagePurpose:     purpose,
	}
}

// spdxChecksums are the well-formed digests of d in the order written.
func spdxChecksums(d map[string]string) []spdx.Checksum {
	var out []spdx.Checksum
	for _, c := range checksums {
		if v, ok := d[c.alg]; ok && isHex(v, c.hex) {
			out = append(out, spdx.Checksum{Algorithm: spdxAlgs[c.alg], Value: strings.ToLower(v)})
		}
	}
	return out
}

// verificationCode is SPDX's package verification code: the sha1 of the
// sorted, concatenated sha1 values of the package's files.
func verificationCode(c *Contents) string {
	sums := make([]string, 0, len(c.Files))
	for _, f := range c.Files {
		sums = append(sums, strings.ToLower(f.SHA1))
	}
	sort.Strings(sums)
	h := sha1.Sum([]byte(strings.Join(sums, "")))
	return hex.EncodeToString(h[:])
}

// spdxLicenseID is a single SPDX license identifier; anything else a
// cataloguer reports is not asserted (a free-text license is not an SPDX
// expression).
var spdxLicenseID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+-]*$`)

func licenseExpression(ls []string) string {
	var ids []string
	for _, l := range ls {
		if !spdxLicenseID.MatchString(l) {
			return noAssertion
		}
		ids = append(ids, l)
	}
	switch len(ids) {
	case 0:
		return noAssertion
	case 1:
		return ids[0]
	}
	sort.Strings(ids)
	return "(" + strings.Join(ids, " AND ") + ")"
}

// idSet makes SPDX ids (letters, digits, '.', '-') unique in a document.
type idSet struct{ used map[spdxcommon.ElementID]bool }

func (s *idSet) make(name string) spdxcommon.ElementID {
	base := safe(name)
	id := spdxcommon.ElementID(base)
	for n := 2; s.used[id]; n++ {
		id = spdxcommon.ElementID(fmt.Sprintf("%s-%d", base, n))
	}
	s.used[id] = true
	return id
}

func safe(s string) string {
	out := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '-'
	}, s)
	if out == "" {
		return "x"
	}
	return out
}

// purpose is the SPDX primaryPackagePurpose of an artifact.
func purpose(name string) string {
	if isArchive(name) {
		return "ARCHIVE"
	}
	return "FILE"
}

func orNoAssertion(s string) string {
	if s == "" {
		return noAssertion
	}
	return s
}
