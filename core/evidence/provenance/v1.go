package provenance

import (
	"encoding/json"
	"fmt"
	"time"

	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/mmbuild/mmbuild/core/evidence/canonical"
)

// ExternalParameters is buildDefinition.externalParameters of an mmbuild
// v1 statement: what the user controls — the handler and its parameters,
// the config in the source, the builder's environment (secrets redacted)
// and the storage plugins' options.
type ExternalParameters struct {
	Handler        string                       `json:"handler"`
	Params         []string                     `json:"params"`
	Options        map[string]string            `json:"options,omitempty"`
	Source         ExternalSource               `json:"source"`
	Environment    map[string]string            `json:"environment,omitempty"`
	StorageOptions map[string]map[string]string `json:"storageOptions,omitempty"`
}

// ExternalSource is the config source: the repository at its commit and
// the config's path in it.
type ExternalSource struct {
	URI        string `json:"uri"`
	Digest     Digest `json:"digest,omitempty"`
	EntryPoint string `json:"entryPoint"`
}

// encodeV1 writes b as in-toto Statement v1 with the SLSA v1 predicate.
// Every resource goes through the in-toto library's types and validators,
// so what is written is what its decoder accepts.
func encodeV1(b Build) ([]byte, error) {
	subjects, err := sortedSubjects(b.Subjects)
	if err != nil {
		return nil, err
	}
	params := b.Params
	if params == nil {
		params = []string{}
	}
	ext := ExternalParameters{
		Handler:     b.HandlerID,
		Params:      params,
		Options:     b.Options,
		Source:      ExternalSource{URI: b.ConfigSource.URI, Digest: copyDigest(b.ConfigSource.Digest), EntryPoint: b.EntryPoint},
		Environment: b.Environment,
	}
	var internal *wireConfig
	if w := b.wire(); w != nil {
		// The storage options are the user's: externalParameters.
		ext.StorageOptions = w.StorageOptions
		in := *w
		in.StorageOptions = nil
		if data, _ := json.Marshal(in); string(data) != "{}" {
			internal = &in
		}
	}
	extStruct, err := canonical.StructOf(ext)
	if err != nil {
		return nil, fmt.Errorf("building statement: externalParameters: %w", err)
	}
	def := &slsa1.BuildDefinition{
		BuildType:          b.buildType(),
		ExternalParameters: extStruct,
	}
	if internal != nil {
		if def.InternalParameters, err = canonical.StructOf(internal); err != nil {
			return nil, fmt.Errorf("building statement: internalParameters: %w", err)
		}
	}
	for _, m := range sortedMaterials(b.Materials) {
		def.ResolvedDependencies = append(def.ResolvedDependencies, descriptor(m.URI, Digest(m.Digest)))
	}
	pred := &slsa1.Provenance{
		BuildDefinition: def,
		RunDetails: &slsa1.RunDetails{
			Builder: &slsa1.Builder{Id: b.builderID(), Version: b.BuilderVersion},
			Metadata: &slsa1.BuildMetadata{
				InvocationId: b.Run.InvocationID,
				StartedOn:    timestamp(b.Run.Started),
				FinishedOn:   timestamp(b.Run.Finished),
			},
		},
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("building statement: %w", err)
	}
	predStruct, err := canonical.Struct(pred)
	if err != nil {
		return nil, fmt.Errorf("building statement: predicate: %w", err)
	}
	st := &ita1.Statement{Type: StatementV1, PredicateType: PredicateV1, Predicate: predStruct}
	for _, s := range subjects {
		st.Subject = append(st.Subject, &ita1.ResourceDescriptor{Name: s.Name, Digest: s.Digest})
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("building statement: %w", err)
	}
	data, err := canonical.Message(st)
	if err != nil {
		return nil, fmt.Errorf("encoding statement: %w", err)
	}
	return data, nil
}

// timestamp is t, nil when zero (not known).
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t.UTC())
}

// descriptor is a resolved dependency. A git commit is recorded as
// gitCommit (the in-toto digest name for it) and as sha1, which v0.2
// readers and mmbuild's own checks use.
func descriptor(uri string, d Digest) *ita1.ResourceDescriptor {
	d = copyDigest(d)
	if c := d["sha1"]; len(c) == 40 && isGitURI(uri) {
		d["gitCommit"] = c
	}
	return &ita1.ResourceDescriptor{Uri: uri, Digest: d}
}

func isGitURI(uri string) bool { return len(uri) > 4 && uri[:4] == "git+" }
