// Package vsa writes and reads SLSA Verification Summary Attestations
// (https://slsa.dev/verification_summary/v1): the signed verdict of a
// replay, which anyone can check later without replaying again.
package vsa

import (
	"errors"
	"fmt"
	"sort"
	"time"

	vsa1 "github.com/in-toto/attestation/go/predicates/vsa/v1"
	ita1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/mmbuild/mmbuild/core/evidence/canonical"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

const (
	// PredicateType is the VSA v1 predicate type.
	PredicateType = "https://slsa.dev/verification_summary/v1"
	statementType = "https://in-toto.io/Statement/v1"
	// ReplayPolicy names the rule a replay applies: the recorded source,
	// config, handler, parameters, environment and materials, rebuilt in a
	// clean workspace, give every recorded subject bit for bit.
	ReplayPolicy = "https://mmbuild.dev/policies/replay/v1"
	// DefaultVerifierID names mmbuild's replay as the verifier.
	DefaultVerifierID = "https://mmbuild.dev/verifier/replay@v1"

	Passed = "PASSED"
	Failed = "FAILED"

	// The levels a replay vouches for. A PASSED replay verified that the
	// provenance exists and describes how the subjects are built (SLSA
	// Build L1) and that they reproduce; a FAILED one vouches for nothing.
	LevelBuild1     = "SLSA_BUILD_LEVEL_1"
	LevelBuild0     = "SLSA_BUILD_LEVEL_0"
	LevelReproduced = "MMBUILD_REPRODUCED"

	// subjectAnnotation is the annotation of each subject saying what the
	// replay found for it: match, differs or missing; rebuiltAnnotation
	// the rebuilt sha256 when it differs.
	subjectAnnotation = "mmbuild.dev/replay"
	rebuiltAnnotation = "mmbuild.dev/rebuiltSha256"
)

// Outcomes of one subject.
const (
	Match   = "match"
	Differs = "differs"
	Missing = "missing"
)

// Subject is one artifact the verdict is about: its name and recorded
// digests, what the replay found, and the rebuilt sha256 when it differs.
type Subject struct {
	Name    string
	Digest  map[string]string
	Outcome string
	Rebuilt string
}

// Input is an attestation the verifier read: where from and its digest.
type Input struct {
	URI    string
	Digest map[string]string
}

// Summary is a verification summary.
type Summary struct {
	VerifierID   string
	TimeVerified time.Time
	// ResourceURI is where the subjects are (the staging URL the build
	// published them at, else its source).
	ResourceURI string
	PolicyURI   string
	Inputs      []Input
	Passed      bool
	// Levels are the verified levels; Levels() of Passed when empty.
	Levels   []string
	Subjects []Subject
}

// Differing lists the subjects that did not match.
func (s *Summary) Differing() []string {
	var out []string
	for _, sub := range s.Subjects {
		if sub.Outcome != Match {
			out = append(out, sub.Name)
		}
	}
	return out
}

// Result is PASSED or FAILED.
func (s *Summary) Result() string {
	if s.Passed {
		return Passed
	}
	return Failed
}

// levels is what a verdict vouches for.
func levels(passed bool) []string {
	if passed {
		return []string{LevelBuild1, LevelReproduced}
	}
	return []string{LevelBuild0}
}

// Encode writes s as an in-toto Statement v1 with the VSA v1 predicate,
// through the in-toto attestation library's types and validators,
// deterministically (sorted keys and subjects).
func Encode(s Summary) ([]byte, error) {
	if len(s.Subjects) == 0 {
		return nil, errors.New("writing VSA: no subjects")
	}
	if s.VerifierID == "" {
		s.VerifierID = DefaultVerifierID
	}
	if s.PolicyURI == "" {
		s.PolicyURI = ReplayPolicy
	}
	lv := s.Levels
	if len(lv) == 0 {
		lv = levels(s.Passed)
	}
	pred := &vsa1.VerificationSummary{
		Verifier:           &vsa1.VerificationSummary_Verifier{Id: s.VerifierID},
		TimeVerified:       timestamppb.New(s.TimeVerified.UTC()),
		ResourceUri:        s.ResourceURI,
		Policy:             &vsa1.VerificationSummary_Policy{Uri: s.PolicyURI},
		VerificationResult: s.Result(),
		VerifiedLevels:     lv,
		SlsaVersion:        "1.0",
	}
	for _, in := range s.Inputs {
		pred.InputAttestations = append(pred.InputAttestations, &vsa1.VerificationSummary_InputAttestation{Uri: in.URI, Digest: in.Digest})
	}
	predStruct, err := canonical.Struct(pred)
	if err != nil {
		return nil, fmt.Errorf("writing VSA: %w", err)
	}
	st := &ita1.Statement{Type: statementType, PredicateType: PredicateType, Predicate: predStruct}
	subs := append([]Subject(nil), s.Subjects...)
	sort.Slice(subs, func(i, j int) bool { return subs[i].Name < subs[j].Name })
	for _, sub := range subs {
		ann := map[string]any{subjectAnnotation: sub.Outcome}
		if sub.Rebuilt != "" {
			ann[rebuiltAnnotation] = sub.Rebuilt
		}
		a, err := structpb.NewStruct(ann)
		if err != nil {
			return nil, fmt.Errorf("writing VSA: %w", err)
		}
		st.Subject = append(st.Subject, &ita1.ResourceDescriptor{Name: sub.Name, Digest: sub.Digest, Annotations: a})
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("writing VSA: %w", err)
	}
	data, err := canonical.Message(st)
	if err != nil {
		return nil, fmt.Errorf("writing VSA: %w", err)
	}
	return data, nil
}

// Decode reads a VSA statement strictly (unknown fields refused, the
// in-toto library's validators), as untrusted input.
func Decode(payload []byte) (*Summary, error) {
	if err := signing.UnmarshalStrict(payload, &map[string]any{}); err != nil {
		return nil, fmt.Errorf("parsing VSA: %w", err)
	}
	var st ita1.Statement
	if err := protojson.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("parsing VSA: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("parsing VSA: %w", err)
	}
	if st.GetPredicateType() != PredicateType {
		return nil, fmt.Errorf("parsing VSA: predicateType is %q, want %q", st.GetPredicateType(), PredicateType)
	}
	pb, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("parsing VSA: %w", err)
	}
	var pred vsa1.VerificationSummary
	if err := protojson.Unmarshal(pb, &pred); err != nil {
		return nil, fmt.Errorf("parsing VSA: the predicate is not a VSA v1: %w", err)
	}
	s := &Summary{
		VerifierID:  pred.GetVerifier().GetId(),
		ResourceURI: pred.GetResourceUri(),
		PolicyURI:   pred.GetPolicy().GetUri(),
		Levels:      pred.GetVerifiedLevels(),
	}
	switch pred.GetVerificationResult() {
	case Passed:
		s.Passed = true
	case Failed:
	default:
		return nil, fmt.Errorf("parsing VSA: verificationResult is %q, want %s or %s", pred.GetVerificationResult(), Passed, Failed)
	}
	if s.VerifierID == "" {
		return nil, errors.New("parsing VSA: no verifier.id")
	}
	if t := pred.GetTimeVerified(); t != nil {
		if err := t.CheckValid(); err != nil {
			return nil, fmt.Errorf("parsing VSA: timeVerified: %w", err)
		}
		s.TimeVerified = t.AsTime()
	}
	for _, in := range pred.GetInputAttestations() {
		s.Inputs = append(s.Inputs, Input{URI: in.GetUri(), Digest: in.GetDigest()})
	}
	for _, sub := range st.GetSubject() {
		ann := sub.GetAnnotations().AsMap()
		outcome, _ := ann[subjectAnnotation].(string)
		rebuilt, _ := ann[rebuiltAnnotation].(string)
		s.Subjects = append(s.Subjects, Subject{Name: sub.GetName(), Digest: sub.GetDigest(), Outcome: outcome, Rebuilt: rebuilt})
	}
	return s, nil
}
