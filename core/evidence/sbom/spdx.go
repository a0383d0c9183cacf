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
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      in.Name,
		DocumentNamespace: NamespacePrefix + safe(in.Name) + "-" + sum,
		CreationInfo:      &spdx.CreationInfo{Created: in.Created.Format("2006-01-02T15:04:05Z")},
	}
	if !slices.ContainsFunc(in.Tools, func(t Tool) bool { return t.Name == "mmbuild" }) {
		// No version known: mmbuild is named still, it wrote the document.
		doc.CreationInfo.Creators = append(doc.CreationInfo.Creators, spdx.Creator{CreatorType: "Tool", Creator: "mmbuild"})
	}
	ids := &idSet{used: map[spdxcommon.ElementID]bool{}}
	rel := func(a, b spdxcommon.ElementID, kind string) {
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA: spdxcommon.MakeDocElementID("", string(a)), RefB: spdxcommon.MakeDocElementID("", string(b)), Relationship: kind,
		})
	}

	var artifactIDs []spdxcommon.ElementID
	for _, a := range in.Artifacts {
		id := ids.make("Artifact-" + a.Name)
		artifactIDs = append(artifactIDs, id)
		p := &spdx.Package{
			PackageName:               a.Name,
			PackageSPDXIdentifier:     id,
			PackageFileName:           a.Name,
			PackageDownloadLocation:   orNoAssertion(a.DownloadLocation),
			IsFilesAnalyzedTagPresent: true,
			PackageLicenseConcluded:   noAssertion,
			PackageLicenseDeclared:    noAssertion,
			PackageCopyrightText:      noAssertion,
			PackageComment:            fmt.Sprintf("%d bytes", a.Size),
			PrimaryPackagePurpose:     purpose(a.Name),
		}
		for _, c := range checksums {
			if v, ok := a.Digest[c.alg]; ok {
				p.PackageChecksums = append(p.PackageChecksums, spdx.Checksum{Algorithm: spdxAlgs[c.alg], Value: strings.ToLower(v)})
			}
		}
		doc.Packages = append(doc.Packages, p)
		rel("DOCUMENT", id, spdxcommon.TypeRelationshipDescribe)
		if a.Contents == nil {
			continue
		}
		if len(a.Contents.Files) > 0 {
			p.FilesAnalyzed = true
			p.PackageVerificationCode = &spdxcommon.PackageVerificationCode{Value: verificationCode(a.Contents)}
			p.PackageLicenseInfoFromFiles = []string{noAssertion}
		}
		for _, f := range a.Contents.Files {
			fid := ids.make("File-" + a.Name + "-" + f.Path)
			doc.Files = append(doc.Files, &spdx.File{
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
			rel(id, fid, spdxcommon.TypeRelationshipContains)
		}
		for _, cp := range a.Contents.Packages {
			pid := ids.make("Package-" + a.Name + "-" + cp.Name + "-" + cp.Version)
			pkg := &spdx.Package{
				PackageName:             cp.Name,
				PackageSPDXIdentifier:   pid,
				PackageVersion:          cp.Version,
				PackageDownloadLocation: noAssertion,
				FilesAnalyzed:           false, IsFilesAnalyzedTagPresent: true,
				PackageLicenseConcluded: noAssertion,
				PackageLicenseDeclared:  licenseExpression(cp.Licenses),
				PackageCopyrightText:    noAssertion,
				PrimaryPackagePurpose:   "LIBRARY",
			}
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
			doc.Packages = append(doc.Packages, pkg)
			rel(id, pid, spdxcommon.TypeRelationshipContains)
		}
	}

	if in.Source != nil {
		sid := ids.make("Source")
		doc.Packages = append(doc.Packages, &spdx.Package{
			PackageName:             in.Source.Repo,
			PackageSPDXIdentifier:   sid,
			PackageVersion:          in.Source.Commit,
			PackageDownloadLocation: "git+" + strings.TrimPrefix(in.Source.Repo, "git+") + "@" + in.Source.Commit,
			FilesAnalyzed:           false, IsFilesAnalyzedTagPresent: true,
			PackageLicenseConcluded: noAssertion, PackageLicenseDeclared: noAssertion, PackageCopyrightText: noAssertion,
			PrimaryPackagePurpose: "SOURCE",
		})
		for _, aid := range artifactIDs {
			rel(aid, sid, spdxcommon.TypeRelationshipGeneratedFrom)
		}
	}
	for _, m := range in.Materials {
		mid := ids.make("Material-" + materialName(m.URI))
		loc := noAssertion
		if downloadable(m.URI) {
			loc = m.URI
		}
		p := &spdx.Package{
			PackageName:             materialName(m.URI),
			PackageSPDXIdentifier:   mid,
			PackageDownloadLocation: loc,
			FilesAnalyzed:           false, IsFilesAnalyzedTagPresent: true,
			PackageLicenseConcluded: noAssertion, PackageLicenseDeclared: noAssertion, PackageCopyrightText: noAssertion,
			PackageComment: "material " + m.URI,
		}
		for _, c := range checksums {
			if v, ok := m.Digest[c.alg]; ok && isHex(v, c.hex) {
				p.PackageChecksums = append(p.PackageChecksums, spdx.Checksum{Algorithm: spdxAlgs[c.alg], Value: strings.ToLower(v)})
			}
		}
		doc.Packages = append(doc.Packages, p)
		for _, aid := range artifactIDs {
			rel(mid, aid, spdxcommon.TypeRelationshipBuildDependencyOf)
		}
	}
	for _, t := range in.Tools {
		doc.CreationInfo.Creators = append(doc.CreationInfo.Creators, spdx.Creator{CreatorType: "Tool", Creator: t.Name + "-" + t.Version})
		tid := ids.make("Tool-" + t.Name)
		doc.Packages = append(doc.Packages, &spdx.Package{
			PackageName: t.Name, PackageSPDXIdentifier: tid, PackageVersion: t.Version,
			PackageDownloadLocation: noAssertion,
			FilesAnalyzed:           false, IsFilesAnalyzedTagPresent: true,
			PackageLicenseConcluded: noAssertion, PackageLicenseDeclared: noAssertion, PackageCopyrightText: noAssertion,
			PrimaryPackagePurpose: "APPLICATION",
		})
		for _, aid := range artifactIDs {
			rel(tid, aid, spdxcommon.TypeRelationshipBuildToolOf)
		}
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		return nil, fmt.Errorf("writing SBOM: %w", err)
	}
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("encoding SBOM: %w", err)
	}
	return buf.Bytes(), nil
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
