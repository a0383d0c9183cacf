package provenance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/build/redact"
	"github.com/mmbuild/mmbuild/core/evidence/cifacts"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
	"github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/common"
	slsa "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v0.2"
)

const (
	// DefaultBuilderID names mmbuild when the CI engine sets no builder id.
	DefaultBuilderID = "https://mmbuild.dev/builder/local@v1"
	// BuildTypePrefix is followed by the handler id and its schema version.
	BuildTypePrefix = "https://mmbuild.dev/buildtypes/"
	// Redacted replaces every secret value: the redactor's marker, so
	// that what the run writes is what replay and verify look for.
	Redacted = redact.Text
)

// AttestBuildType is the buildType of a statement mmbuild attest writes:
// artifacts mmbuild did not build, whose build it neither ran nor saw.
const AttestBuildType = "https://mmbuild.dev/attest/v1"

// Ours reports whether buildType is one mmbuild writes, whose parameters
// and buildConfig have mmbuild's shape.
func Ours(buildType string) bool {
	return strings.HasPrefix(buildType, BuildTypePrefix) || buildType == AttestBuildType
}

// BuildType returns the URI naming a handler and its schema version.
func BuildType(handlerID string) string { return BuildTypePrefix + handlerID + "/v1" }

// Digest maps an algorithm to a hex digest.
type Digest = map[string]string

// Resource is a material or a subject: a name or URI and its digests.
type Resource struct {
	URI    string
	Digest Digest
}

// Build is everything a statement records about one build.
type Build struct {
	// BuildType names how the build was made; "" is BuildType(HandlerID).
	BuildType string
	// BuilderVersion is builder.version of a v1 statement (v0.2 has no
	// place for it), e.g. {"mmbuild": "0.2.0"}.
	BuilderVersion map[string]string
	HandlerID      string
	Params         []string
	// Options are the handler's options from the config (never secrets).
	Options      map[string]string
	ConfigSource Resource // URI: git+<repo>@<commit>; Digest: {sha1: commit}
	EntryPoint   string   // the config path, relative to the source
	// Environment is the builder's environment with secret values already
	// replaced by Redacted.
	Environment  map[string]string
	Materials    []Resource
	Subjects     []Resource
	Completeness Completeness
	Reproducible bool
	// Config is mmbuild's own record of the build (buildConfig); the zero
	// value records nothing.
	Config BuildConfig
	// Run are the facts of this one run, the only fields (with
	// BuilderVersion's tool version) that differ between two builds of the
	// same inputs.
	Run RunFacts
}

// RunFacts are the per-run facts of a build: the only parts of a
// statement the determinism rule lets differ between two runs of the same
// inputs. Each is recorded where its SLSA version puts it.
type RunFacts struct {
	// BuilderID is builder.id; "" is DefaultBuilderID.
	BuilderID string
	// InvocationID identifies this run; Started and Finished are real
	// times (written in UTC; a zero time, not known, is not written).
	InvocationID      string
	Started, Finished time.Time
	// CI is the CI job that ran the build (buildConfig.ci in v0.2,
	// internalParameters.ci in v1); nil outside CI.
	CI *cifacts.Facts
}

// buildType is the statement's buildType.
func (b Build) buildType() string {
	if b.BuildType != "" {
		return b.BuildType
	}
	return BuildType(b.HandlerID)
}

// builderID is the statement's builder.id.
func (b Build) builderID() string {
	if b.Run.BuilderID != "" {
		return b.Run.BuilderID
	}
	return DefaultBuilderID
}

// Completeness says honestly which parts of the record are complete.
type Completeness struct {
	Parameters, Environment, Materials bool
}

// Statement is the attestation type: in-toto v0.1 + SLSA v0.2.
type Statement = intoto.ProvenanceStatementSLSA02

// New assembles the statement. Subjects and materials are sorted so that the
// same inputs give the same bytes.
func New(b Build) (*Statement, error) {
	subjects, err := sortedSubjects(b.Subjects)
	if err != nil {
		return nil, err
	}
	params := b.Params
	if params == nil {
		params = []string{}
	}
	st := &Statement{
		StatementHeader: intoto.StatementHeader{
			Type:          intoto.StatementInTotoV01,
			PredicateType: slsa.PredicateSLSAProvenance,
			Subject:       subjects,
		},
		Predicate: slsa.ProvenancePredicate{
			Builder:   common.ProvenanceBuilder{ID: b.builderID()},
			BuildType: b.buildType(),
			Invocation: slsa.ProvenanceInvocation{
				ConfigSource: slsa.ConfigSource{
					URI:        b.ConfigSource.URI,
					Digest:     common.DigestSet(copyDigest(b.ConfigSource.Digest)),
					EntryPoint: b.EntryPoint,
				},
				Parameters:  Parameters{Handler: b.HandlerID, Params: params, Options: b.Options},
				Environment: b.Environment,
			},
			Metadata:  metadata(b),
			Materials: sortedMaterials(b.Materials),
		},
	}
	if w := b.wire(); w != nil {
		st.Predicate.BuildConfig = w
	}
	return st, nil
}

// sortedSubjects returns the subjects sorted by name, each with its own copy
// of its digests. A statement needs at least one subject, and each a sha256:
// that is the digest verifiers match artifacts by.
func sortedSubjects(rs []Resource) ([]intoto.Subject, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("building statement: no subjects")
	}
	subjects := make([]intoto.Subject, 0, len(rs))
	for _, s := range rs {
		if s.Digest["sha256"] == "" {
			return nil, fmt.Errorf("building statement: subject %s has no sha256", s.URI)
		}
		subjects = append(subjects, intoto.Subject{Name: s.URI, Digest: common.DigestSet(copyDigest(s.Digest))})
	}
	sort.SliceStable(subjects, func(i, j int) bool { return subjects[i].Name < subjects[j].Name })
	return subjects, nil
}

// sortedMaterials returns the materials sorted by URI, each with its own
// copy of its digests.
func sortedMaterials(rs []Resource) []common.ProvenanceMaterial {
	materials := make([]common.ProvenanceMaterial, 0, len(rs))
	for _, m := range rs {
		materials = append(materials, common.ProvenanceMaterial{URI: m.URI, Digest: common.DigestSet(copyDigest(m.Digest))})
	}
	sort.SliceStable(materials, func(i, j int) bool { return materials[i].URI < materials[j].URI })
	return materials
}

// metadata is the predicate's metadata: the run's id and times (in UTC, so
// the bytes do not depend on the builder's time zone; a zero time is not
// recorded) and what b says is complete and reproducible.
func metadata(b Build) *slsa.ProvenanceMetadata {
	return &slsa.ProvenanceMetadata{
		BuildInvocationID: b.Run.InvocationID,
		BuildStartedOn:    utc(b.Run.Started),
		BuildFinishedOn:   utc(b.Run.Finished),
		Completeness: slsa.ProvenanceComplete{
			Parameters:  b.Completeness.Parameters,
			Environment: b.Completeness.Environment,
			Materials:   b.Completeness.Materials,
		},
		Reproducible: b.Reproducible,
	}
}

// utc is t in UTC, nil when zero (not known).
func utc(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// Parameters is what invocation.parameters holds.
type Parameters struct {
	Handler string            `json:"handler"`
	Params  []string          `json:"params"`
	Options map[string]string `json:"options,omitempty"`
}

func copyDigest(d Digest) Digest {
	if d == nil {
		return nil
	}
	out := make(Digest, len(d))
	for k, v := range d {
		out[k] = v
	}
	return out
}

// Marshal encodes the statement as indented JSON with a final newline. Map
// keys are sorted by encoding/json, slices by New: the bytes are a function
// of the inputs.
func Marshal(st *Statement) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		return nil, fmt.Errorf("encoding statement: %w", err)
	}
	return buf.Bytes(), nil
}
