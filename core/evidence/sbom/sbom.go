package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
	"github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/common"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	spdxcommon "github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdxlib"
)

// PredicateType is the in-toto predicate type of an SPDX document.
const PredicateType = intoto.PredicateSPDX

// NamespacePrefix starts every document namespace; a hash of the inputs
// follows, so that the namespace is unique per input and reproducible.
const NamespacePrefix = "https://mmbuild.dev/spdx/"

// Creator is the tool recorded in creationInfo.creators.
const Creator = "mmbuild"

// noAssertion is SPDX's "nothing is said about this".
const noAssertion = "NOASSERTION"

// File is one artifact: its name as published, its digests (sha256
// required; sha512 and sha1 recorded when present) and size in bytes.
type File struct {
	Name   string
	Digest map[string]string
	Size   int64
}

// checksums maps in-toto digest names to SPDX checksum algorithms, in the
// order they are written.
var checksums = []struct {
	alg  string
	spdx spdxcommon.ChecksumAlgorithm
	hex  int
}{
	{"sha256", spdxcommon.SHA256, 64},
	{"sha512", spdxcommon.SHA512, 128},
	{"sha1", spdxcommon.SHA1, 40},
}

// Document returns the SPDX 2.3 JSON document describing the artifacts:
// one package per artifact (filesAnalyzed false, its checksums, its size in
// the package comment), each DESCRIBED by the document. The bytes depend on
// the inputs only: packages are sorted by name, the namespace is derived
// from a hash of the inputs, and created (give SOURCE_DATE_EPOCH) is the
// creation time, in UTC to the second.
func Document(name string, artifacts []File, created time.Time) ([]byte, error) {
	doc, err := build(name, artifacts, created)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("encoding SBOM: %w", err)
	}
	return buf.Bytes(), nil
}

// build assembles and validates the document: the inputs checked and
// sorted, then one package per artifact, each described by the document.
func build(name string, artifacts []File, created time.Time) (*spdx.Document, error) {
	files, err := sortedFiles(name, artifacts)
	if err != nil {
		return nil, err
	}
	created = created.UTC().Truncate(time.Second)
	ns, err := namespace(name, files, created)
	if err != nil {
		return nil, err
	}
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      name,
		DocumentNamespace: ns,
		CreationInfo: &spdx.CreationInfo{
			Creators: []spdx.Creator{{CreatorType: "Tool", Creator: Creator}},
			Created:  created.Format("2006-01-02T15:04:05Z"),
		},
	}
	used := map[spdxcommon.ElementID]bool{}
	for _, f := range files {
		id := elementID(f.Name, used)
		doc.Packages = append(doc.Packages, artifactPackage(f, id))
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA:         spdxcommon.MakeDocElementID("", "DOCUMENT"),
			RefB:         spdxcommon.MakeDocElementID("", string(id)),
			Relationship: spdxcommon.TypeRelationshipDescribe,
		})
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		return nil, fmt.Errorf("writing SBOM: %w", err)
	}
	return doc, nil
}

// sortedFiles checks the inputs and returns a copy of artifacts sorted by
// name (the caller's slice is left as it was): the order, and so the
// bytes, of the document depend on the artifacts only, not on how they
// were listed.
func sortedFiles(name string, artifacts []File) ([]File, error) {
	if strings.TrimSpace(name) == "" {
		return nil, errors.New("writing SBOM: empty document name")
	}
	if len(artifacts) == 0 {
		return nil, errors.New("writing SBOM: no artifacts")
	}
	files := make([]File, len(artifacts))
	copy(files, artifacts)
	sort.SliceStable(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for i, f := range files {
		if f.Name == "" {
			return nil, errors.New("writing SBOM: an artifact has no name")
		}
		if i > 0 && files[i-1].Name == f.Name {
			return nil, fmt.Errorf("writing SBOM: artifact %s given twice", f.Name)
		}
		if err := checkFile(f); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// checkFile checks one named artifact: a size, a sha256, and digests that
// are hex of the right length.
func checkFile(f File) error {
	if f.Size < 0 {
		return fmt.Errorf("writing SBOM: artifact %s has a negative size", f.Name)
	}
	if f.Digest["sha256"] == "" {
		return fmt.Errorf("writing SBOM: artifact %s has no sha256", f.Name)
	}
	for _, c := range checksums {
		if v, ok := f.Digest[c.alg]; ok && !isHex(v, c.hex) {
			return fmt.Errorf("writing SBOM: artifact %s: malformed %s %q", f.Name, c.alg, v)
		}
	}
	return nil
}

// artifactPackage is the package of one artifact, with SPDX identifier id.
// Nothing is asserted about its origin or licence: mmbuild knows only the
// file, so its size goes in the comment and its digests in the checksums.
func artifactPackage(f File, id spdxcommon.ElementID) *spdx.Package {
	p := &spdx.Package{
		PackageName:               f.Name,
		PackageSPDXIdentifier:     id,
		PackageFileName:           f.Name,
		PackageDownloadLocation:   noAssertion,
		FilesAnalyzed:             false,
		IsFilesAnalyzedTagPresent: true,
		PackageLicenseConcluded:   noAssertion,
		PackageLicenseDeclared:    noAssertion,
		PackageCopyrightText:      noAssertion,
		PackageComment:            fmt.Sprintf("%d bytes", f.Size),
		PrimaryPackagePurpose:     purpose(f.Name),
	}
	for _, c := range checksums {
		if v, ok := f.Digest[c.alg]; ok {
			p.PackageChecksums = append(p.PackageChecksums, spdx.Checksum{Algorithm: c.spdx, Value: strings.ToLower(v)})
		}
	}
	return p
}

// namespace is NamespacePrefix, the name made URI-safe, and the sha256 of
// the canonical JSON of every input.
func namespace(name string, files []File, created time.Time) (string, error) {
	type input struct {
		Name    string            `json:"name"`
		Digest  map[string]string `json:"digest"`
		Size    int64             `json:"size"`
		Created string            `json:"created,omitempty"`
	}
	in := []input{{Name: name, Created: created.Format(time.RFC3339)}}
	for _, f := range files {
		in = append(in, input{Name: f.Name, Digest: f.Digest, Size: f.Size})
	}
	b, err := json.Marshal(in) // map keys sorted: canonical enough
	if err != nil {
		return "", fmt.Errorf("writing SBOM: %w", err)
	}
	sum := sha256.Sum256(b)
	return NamespacePrefix + safe(name, '-') + "-" + hex.EncodeToString(sum[:]), nil
}

// elementID makes an SPDX id (letters, digits, '.', '-') from a name,
// unique within the document.
func elementID(name string, used map[spdxcommon.ElementID]bool) spdxcommon.ElementID {
	base := "Artifact-" + safe(name, '-')
	id := spdxcommon.ElementID(base)
	for n := 2; used[id]; n++ {
		id = spdxcommon.ElementID(fmt.Sprintf("%s-%d", base, n))
	}
	used[id] = true
	return id
}

func safe(s string, repl rune) string {
	out := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return repl
	}, s)
	if out == "" {
		return "x"
	}
	return out
}

var archiveSuffixes = []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".zip", ".jar", ".war"}

// purpose is the SPDX primaryPackagePurpose: ARCHIVE for archive names,
// FILE otherwise.
func purpose(name string) string {
	lower := strings.ToLower(name)
	for _, s := range archiveSuffixes {
		if strings.HasSuffix(lower, s) {
			return "ARCHIVE"
		}
	}
	return "FILE"
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// MaxSize is the largest SPDX document Parse reads: 16 MiB.
const MaxSize = 16 << 20

// Parse reads an SPDX JSON document with tools-golang's reader (any SPDX
// 2.x version, converted to 2.3) and checks its relationships.
func Parse(data []byte) (*spdx.Document, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("parsing SBOM: larger than %d MiB", MaxSize>>20)
	}
	doc, err := spdxjson.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parsing SBOM: %w", err)
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		return nil, fmt.Errorf("parsing SBOM: %w", err)
	}
	return doc, nil
}

// Statement returns the in-toto v0.1 statement (indented JSON with a final
// newline) whose subjects are the artifacts and whose predicate is their
// SPDX document (predicate type https://spdx.dev/Document). Deterministic
// like Document.
func Statement(name string, artifacts []File, created time.Time) ([]byte, error) {
	doc, err := Document(name, artifacts, created)
	if err != nil {
		return nil, err
	}
	subjects := make([]intoto.Subject, 0, len(artifacts))
	for _, f := range artifacts {
		d := common.DigestSet{}
		for _, c := range checksums {
			if v, ok := f.Digest[c.alg]; ok {
				d[c.alg] = strings.ToLower(v)
			}
		}
		subjects = append(subjects, intoto.Subject{Name: f.Name, Digest: d})
	}
	sort.SliceStable(subjects, func(i, j int) bool { return subjects[i].Name < subjects[j].Name })
	st := intoto.Statement{
		StatementHeader: intoto.StatementHeader{
			Type:          intoto.StatementInTotoV01,
			PredicateType: PredicateType,
			Subject:       subjects,
		},
		Predicate: json.RawMessage(doc),
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		return nil, fmt.Errorf("encoding SBOM statement: %w", err)
	}
	return buf.Bytes(), nil
}
