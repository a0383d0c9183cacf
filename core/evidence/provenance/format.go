package provenance

import (
	"fmt"
)

// Format is the version of the provenance a build writes.
type Format string

const (
	// V02 is in-toto Statement v0.1 with the SLSA v0.2 predicate: the
	// default, which every verifier of the last years reads.
	V02 Format = "v0.2"
	// V1 is in-toto Statement v1 with the SLSA v1 predicate
	// (buildDefinition / runDetails), what current verifiers expect.
	V1 Format = "v1"
)

// Predicate types and statement types of both formats.
const (
	PredicateV02   = "https://slsa.dev/provenance/v0.2"
	PredicateV1    = "https://slsa.dev/provenance/v1"
	StatementV01   = "https://in-toto.io/Statement/v0.1"
	StatementV1    = "https://in-toto.io/Statement/v1"
	defaultFormat  = V02
	formatsAllowed = "v0.2 or v1"
)

// PredicateTypes are the provenance predicate types mmbuild reads.
var PredicateTypes = []string{PredicateV02, PredicateV1}

// ParseFormat reads a format as a user writes it: "v0.2", "0.2", "v1",
// "1" ("" is the default, v0.2).
func ParseFormat(s string) (Format, error) {
	switch s {
	case "":
		return defaultFormat, nil
	case "v0.2", "0.2":
		return V02, nil
	case "v1", "1", "v1.0", "1.0":
		return V1, nil
	}
	return "", fmt.Errorf("SLSA provenance version %q: want %s", s, formatsAllowed)
}

// ParsePredicateType reads a provenance predicate type as a user writes
// it: its URI (https://slsa.dev/provenance/v1) or its version (v1, v0.2).
func ParsePredicateType(s string) (Format, error) {
	switch s {
	case PredicateV02:
		return V02, nil
	case PredicateV1:
		return V1, nil
	}
	f, err := ParseFormat(s)
	if err != nil {
		return "", fmt.Errorf("predicate type %q: want %s or %s (or v0.2, v1)", s, PredicateV02, PredicateV1)
	}
	return f, nil
}

// PredicateType is the format's predicate type URI.
func (f Format) PredicateType() string {
	if f == V1 {
		return PredicateV1
	}
	return PredicateV02
}

// Encode writes the statement of b in format f, deterministically: the
// same build gives the same bytes (indented JSON, sorted keys, a final
// newline).
func Encode(b Build, f Format) ([]byte, error) {
	switch f {
	case V02, "":
		st, err := New(b)
		if err != nil {
			return nil, err
		}
		return Marshal(st)
	case V1:
		return encodeV1(b)
	}
	return nil, fmt.Errorf("building statement: unknown format %q", f)
}
