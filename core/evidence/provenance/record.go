package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita1 "github.com/in-toto/attestation/go/v1"
	intoto "github.com/in-toto/in-toto-golang/in_toto"
	slsa "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v0.2"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// Record is what a provenance statement says, whichever format it was
// written in and whichever builder wrote it. Readers of provenance (verify,
// replay, the cache, the upstream check) read a Record and never a format.
type Record struct {
	// Format is the predicate's version; StatementType the statement's
	// _type (a v0.2 predicate may come in a Statement v1, as cosign 3
	// writes it).
	Format        Format
	StatementType string
	PredicateType string
	Subjects      []Resource
	BuilderID     string
	BuildType     string
	// Source is the config source: invocation.configSource (v0.2),
	// externalParameters.source for an mmbuild v1 statement, else the
	// first git+ resolved dependency with a commit digest (how GitHub's
	// and Tekton's v1 provenance name the repository).
	Source     Resource
	EntryPoint string
	// Materials are materials (v0.2) or resolvedDependencies (v1).
	Materials []Resource
	// Started and Finished are nil when not recorded.
	Started, Finished *time.Time
	InvocationID      string
	// Parameters is invocation.parameters (v0.2) or externalParameters
	// (v1), as JSON; Environment invocation.environment (v0.2, nil in v1
	// where it is part of the parameters).
	Parameters  json.RawMessage
	Environment json.RawMessage
	// Config is mmbuild's own record of the build (buildConfig in v0.2;
	// internalParameters and externalParameters.storageOptions in v1),
	// read strictly; zero for another builder's statement.
	Config BuildConfig
	// CI is the CI job the statement records (a per-run fact); nil when
	// it records none (a build outside CI, or another builder's).
	CI *cifacts.Facts
}

// Decode reads a provenance statement of either format, strictly: unknown
// fields, duplicate keys and malformed digests are refused (an attestation
// is untrusted input). A v1 statement is decoded and validated by the
// in-toto attestation library; a v0.2 one by in-toto-golang's types.
func Decode(payload []byte) (*Record, error) {
	var head struct {
		Type          string          `json:"_type"`
		PredicateType string          `json:"predicateType"`
		Subject       json.RawMessage `json:"subject"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := signing.UnmarshalStrict(payload, &head); err != nil {
		return nil, fmt.Errorf("parsing statement: %w", err)
	}
	if head.Type != StatementV01 && head.Type != StatementV1 {
		return nil, fmt.Errorf("parsing statement: _type is %q, want %q or %q", head.Type, StatementV01, StatementV1)
	}
	if head.PredicateType != PredicateV02 && head.PredicateType != PredicateV1 {
		return nil, fmt.Errorf("parsing statement: predicateType is %q, want %q or %q", head.PredicateType, PredicateV02, PredicateV1)
	}
	if len(head.Predicate) == 0 || string(head.Predicate) == "null" {
		return nil, errors.New("parsing statement: the statement has no predicate")
	}
	rec := &Record{StatementType: head.Type, PredicateType: head.PredicateType}
	if err := rec.readSubjects(payload, head.Type, head.Subject); err != nil {
		return nil, fmt.Errorf("parsing statement: %w", err)
	}
	var err error
	if head.PredicateType == PredicateV1 {
		err = rec.readV1(head.Predicate)
	} else {
		err = rec.readV02(head.Predicate)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing statement: %w", err)
	}
	return rec, nil
}

// readSubjects decodes the subjects: a Statement v1 through the in-toto
// library (resource descriptors, validated), a v0.1 one as name + digest.
func (r *Record) readSubjects(payload []byte, typ string, raw json.RawMessage) error {
	if typ == StatementV1 {
		var st ita1.Statement
		if err := protojson.Unmarshal(payload, &st); err != nil {
			return fmt.Errorf("not an in-toto Statement v1: %w", err)
		}
		if err := st.Validate(); err != nil {
			return fmt.Errorf("invalid in-toto Statement v1: %w", err)
		}
		for _, s := range st.GetSubject() {
			r.Subjects = append(r.Subjects, Resource{URI: s.GetName(), Digest: copyDigest(s.GetDigest())})
		}
		return nil
	}
	var subjects []intoto.Subject
	if len(raw) > 0 {
		if err := signing.UnmarshalStrict(raw, &subjects); err != nil {
			return fmt.Errorf("subject: %w", err)
		}
	}
	for _, s := range subjects {
		r.Subjects = append(r.Subjects, Resource{URI: s.Name, Digest: copyDigest(Digest(s.Digest))})
	}
	return nil
}

func (r *Record) readV02(raw json.RawMessage) error {
	var pred slsa.ProvenancePredicate
	if err := signing.UnmarshalStrict(raw, &pred); err != nil {
		return fmt.Errorf("the predicate is not SLSA v0.2 provenance: %w", err)
	}
	r.Format = V02
	r.BuilderID = pred.Builder.ID
	r.BuildType = pred.BuildType
	inv := pred.Invocation
	r.Source = Resource{URI: inv.ConfigSource.URI, Digest: copyDigest(Digest(inv.ConfigSource.Digest))}
	r.EntryPoint = inv.ConfigSource.EntryPoint
	for _, m := range pred.Materials {
		r.Materials = append(r.Materials, Resource{URI: m.URI, Digest: copyDigest(Digest(m.Digest))})
	}
	if md := pred.Metadata; md != nil {
		r.InvocationID = md.BuildInvocationID
		r.Started, r.Finished = md.BuildStartedOn, md.BuildFinishedOn
	}
	var err error
	if inv.Parameters != nil {
		if r.Parameters, err = json.Marshal(inv.Parameters); err != nil {
			return err
		}
	}
	if inv.Environment != nil {
		if r.Environment, err = json.Marshal(inv.Environment); err != nil {
			return err
		}
	}
	if pred.BuildConfig != nil && Ours(r.BuildType) {
		data, err := json.Marshal(pred.BuildConfig)
		if err != nil {
			return err
		}
		return r.readConfig(data)
	}
	return nil
}

func (r *Record) readV1(raw json.RawMessage) error {
	var pred slsa1.Provenance
	if err := protojson.Unmarshal(raw, &pred); err != nil {
		return fmt.Errorf("the predicate is not SLSA v1 provenance: %w", err)
	}
	if err := pred.Validate(); err != nil {
		return fmt.Errorf("the predicate is not valid SLSA v1 provenance: %w", err)
	}
	r.Format = V1
	def, run := pred.GetBuildDefinition(), pred.GetRunDetails()
	r.BuilderID = run.GetBuilder().GetId()
	r.BuildType = def.GetBuildType()
	for _, d := range def.GetResolvedDependencies() {
		uri := d.GetUri()
		if uri == "" {
			uri = d.GetName()
		}
		r.Materials = append(r.Materials, Resource{URI: uri, Digest: copyDigest(d.GetDigest())})
	}
	if md := run.GetMetadata(); md != nil {
		r.InvocationID = md.GetInvocationId()
		if md.GetStartedOn() != nil {
			t := md.GetStartedOn().AsTime()
			r.Started = &t
		}
		if md.GetFinishedOn() != nil {
			t := md.GetFinishedOn().AsTime()
			r.Finished = &t
		}
	}
	var err error
	if r.Parameters, err = protojson.Marshal(def.GetExternalParameters()); err != nil {
		return err
	}
	if Ours(r.BuildType) {
		// mmbuild's own: the source and the storage options are in the
		// parameters, in the shape mmbuild writes.
		var ext ExternalParameters
		if err := signing.UnmarshalStrict(r.Parameters, &ext); err != nil {
			return fmt.Errorf("externalParameters is not the mmbuild shape: %w", err)
		}
		r.Source = Resource{URI: ext.Source.URI, Digest: copyDigest(ext.Source.Digest)}
		r.EntryPoint = ext.Source.EntryPoint
		if ip := def.GetInternalParameters(); ip != nil {
			data, err := protojson.Marshal(ip)
			if err != nil {
				return err
			}
			if err := r.readConfig(data); err != nil {
				return err
			}
		}
		r.Config.StorageOptions = ext.StorageOptions
		return nil
	}
	for _, m := range r.Materials {
		if isGitURI(m.URI) && (m.Digest["gitCommit"] != "" || m.Digest["sha1"] != "") {
			r.Source = Resource{URI: m.URI, Digest: Digest{"sha1": firstOf(m.Digest["sha1"], m.Digest["gitCommit"])}}
			break
		}
	}
	return nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Invocation is the build as mmbuild records it, typed: what a replay
// rebuilds. Values are data, never expanded.
type Invocation struct {
	Handler string
	Params  []string
	Options map[string]string
	// Env is the recorded environment; secret values are Redacted.
	Env map[string]string
}

// Invocation reads the recorded invocation of an mmbuild statement of
// either format, strictly; any other shape is an error.
func (r *Record) Invocation() (*Invocation, error) {
	if !strings.HasPrefix(r.BuildType, BuildTypePrefix) {
		return nil, fmt.Errorf("buildType %q is not an mmbuild build type", r.BuildType)
	}
	if r.Format == V1 {
		var ext ExternalParameters
		if err := signing.UnmarshalStrict(r.Parameters, &ext); err != nil {
			return nil, fmt.Errorf("externalParameters is not the mmbuild shape: %w", err)
		}
		return &Invocation{Handler: ext.Handler, Params: ext.Params, Options: ext.Options, Env: ext.Environment}, nil
	}
	var p Parameters
	if len(r.Parameters) == 0 {
		return nil, errors.New("invocation.parameters is not the mmbuild shape {handler, params, options}: absent")
	}
	if err := strictJSON(r.Parameters, &p); err != nil {
		return nil, fmt.Errorf("invocation.parameters is not the mmbuild shape {handler, params, options}: %w", err)
	}
	inv := &Invocation{Handler: p.Handler, Params: p.Params, Options: p.Options}
	if len(r.Environment) > 0 && string(r.Environment) != "null" {
		if err := strictJSON(r.Environment, &inv.Env); err != nil {
			return nil, fmt.Errorf("invocation.environment is not a map of names to strings: %w", err)
		}
	}
	return inv, nil
}

func strictJSON(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(out)
}
