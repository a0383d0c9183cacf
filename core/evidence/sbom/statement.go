package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	intoto "github.com/in-toto/in-toto-golang/in_toto"
	"github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/common"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"
)

// Predicate types of the SBOM statements.
const (
	PredicateSPDX      = "https://spdx.dev/Document/v2.3"
	PredicateCycloneDX = "https://cyclonedx.org/bom"
)

// PredicateTypes are the SBOM predicate types mmbuild writes and reads.
var PredicateTypes = []string{PredicateSPDX, PredicateCycloneDX}

// FileName is the name an SBOM of a format is published under.
func FileName(format string) string {
	if format == CycloneDX {
		return "sbom.cdx.json"
	}
	return "sbom.spdx.json"
}

// ParseFormat checks a format name as the config gives it.
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(s) {
	case SPDX, "spdx-json":
		return SPDX, nil
	case CycloneDX, "cdx", "cyclonedx-json":
		return CycloneDX, nil
	}
	return "", fmt.Errorf("SBOM format %q: want %s or %s", s, SPDX, CycloneDX)
}

// Document writes the SBOM of in in format.
func Document(in Inputs, format string) ([]byte, error) {
	if format == CycloneDX {
		return CycloneDXDocument(in)
	}
	return SPDXDocument(in)
}

// Statement is the in-toto Statement v1 attesting doc, an SBOM of format
// written by Document: its subjects are the artifacts with the digests the
// core computed, its predicate the document as written (the bytes are kept,
// so the statement's predicate is the published document).
func Statement(in Inputs, format string, doc []byte) ([]byte, error) {
	in, err := in.normalized()
	if err != nil {
		return nil, err
	}
	subjects := make([]intoto.Subject, 0, len(in.Artifacts))
	for _, a := range in.Artifacts {
		d := common.DigestSet{}
		for _, c := range checksums {
			if v, ok := a.Digest[c.alg]; ok {
				d[c.alg] = strings.ToLower(v)
			}
		}
		subjects = append(subjects, intoto.Subject{Name: a.Name, Digest: d})
	}
	pt := PredicateSPDX
	if format == CycloneDX {
		pt = PredicateCycloneDX
	}
	st := intoto.Statement{
		StatementHeader: intoto.StatementHeader{Type: "https://in-toto.io/Statement/v1", PredicateType: pt, Subject: subjects},
		Predicate:       json.RawMessage(bytes.TrimSpace(doc)),
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

// MaxSize is the largest SBOM document read: 64 MiB.
const MaxSize = 64 << 20

// Described is an artifact an SBOM describes: its name and sha256.
type Described struct {
	Name, SHA256 string
}

// Read parses an SBOM of either predicate type with its format's own
// library (SPDX: tools-golang, validated; CycloneDX: cyclonedx-go) and
// returns the artifacts it describes, sorted by name.
func Read(predicateType string, doc []byte) ([]Described, error) {
	if len(doc) > MaxSize {
		return nil, fmt.Errorf("parsing SBOM: larger than %d MiB", MaxSize>>20)
	}
	var out []Described
	switch predicateType {
	case PredicateSPDX:
		d, err := spdxjson.Read(bytes.NewReader(doc))
		if err != nil {
			return nil, fmt.Errorf("parsing SPDX SBOM: %w", err)
		}
		if err := spdxlib.ValidateDocument(d); err != nil {
			return nil, fmt.Errorf("parsing SPDX SBOM: %w", err)
		}
		described, err := spdxlib.GetDescribedPackageIDs(d)
		if err != nil {
			return nil, fmt.Errorf("parsing SPDX SBOM: %w", err)
		}
		for _, p := range d.Packages {
			for _, id := range described {
				if p.PackageSPDXIdentifier != id {
					continue
				}
				x := Described{Name: p.PackageName}
				for _, c := range p.PackageChecksums {
					if c.Algorithm == "SHA256" {
						x.SHA256 = strings.ToLower(c.Value)
					}
				}
				out = append(out, x)
			}
		}
	case PredicateCycloneDX:
		var bom cdx.BOM
		if err := cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
			return nil, fmt.Errorf("parsing CycloneDX SBOM: %w", err)
		}
		if bom.BOMFormat != cdx.BOMFormat || bom.SpecVersion < cdx.SpecVersion1_6 {
			return nil, fmt.Errorf("parsing CycloneDX SBOM: bomFormat %q specVersion %s, want CycloneDX 1.6 or later", bom.BOMFormat, bom.SpecVersion)
		}
		if bom.Components != nil {
			for _, c := range *bom.Components {
				if !hasProperty(c, "mmbuild:role", "artifact") {
					continue
				}
				x := Described{Name: c.Name}
				if c.Hashes != nil {
					for _, h := range *c.Hashes {
						if h.Algorithm == cdx.HashAlgoSHA256 {
							x.SHA256 = strings.ToLower(h.Value)
						}
					}
				}
				out = append(out, x)
			}
		}
	default:
		return nil, fmt.Errorf("parsing SBOM: predicate type %q is not an SBOM's", predicateType)
	}
	if len(out) == 0 {
		return nil, errors.New("parsing SBOM: it describes no artifact")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func hasProperty(c cdx.Component, name, value string) bool {
	if c.Properties == nil {
		return false
	}
	for _, p := range *c.Properties {
		if p.Name == name && p.Value == value {
			return true
		}
	}
	return false
}
