package attestation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// Kinds of refusal. Every error of this package that is about the
// attestation's content matches one of them with errors.Is, and keeps its
// cause: errors.Is(err, signing.ErrNotVerified) holds as well as
// errors.Is(err, ErrSignature).
var (
	// ErrTooLarge: the attestation is larger than signing.MaxBundleSize.
	ErrTooLarge = errors.New("attestation too large")
	// ErrMalformed: not a statement, envelope or bundle, a payload type
	// other than in-toto's, or a payload that is not a statement's JSON.
	ErrMalformed = errors.New("malformed attestation")
	// ErrNoKey: no key was given and unsigned attestations are not allowed.
	ErrNoKey = errors.New("no key given to check who signed the attestation")
	// ErrUnsigned: keys were given, but the statement carries no signature.
	ErrUnsigned = errors.New("attestation not signed")
	// ErrSignature: signatures are present, but too few verify with the
	// keys given.
	ErrSignature = errors.New("attestation signature not verified")
	// ErrNoStatement: no statement of the predicate type asked for.
	ErrNoStatement = errors.New("no statement of that predicate type")
	// ErrAmbiguous: more than one statement of the predicate type asked
	// for, so which one the attestation vouches for is unclear.
	ErrAmbiguous = errors.New("more than one statement of that predicate type")
	// ErrNoSubject: no accepted statement has a subject with the digest.
	ErrNoSubject = errors.New("no subject with that digest")
)

// refusal is an error of a kind (a sentinel above) that reads as its cause,
// so the message stays the precise one and both match errors.Is.
type refusal struct{ kind, cause error }

func (r *refusal) Error() string   { return r.cause.Error() }
func (r *refusal) Unwrap() []error { return []error{r.kind, r.cause} }

func refuse(kind, cause error) error { return &refusal{kind: kind, cause: cause} }

// Read reads an attestation, refusing one larger than
// signing.MaxBundleSize with ErrTooLarge.
func Read(r io.Reader) ([]byte, error) { return read(r, "attestation") }

// ReadFile reads the attestation at path, as Read does.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading attestation: %w", err)
	}
	defer f.Close()
	return read(f, "attestation "+path)
}

func read(r io.Reader, what string) ([]byte, error) {
	// One byte more than the limit tells a file at the limit from a larger
	// one without reading the rest.
	data, err := io.ReadAll(io.LimitReader(r, signing.MaxBundleSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if len(data) > signing.MaxBundleSize {
		return nil, tooLarge(what)
	}
	return data, nil
}

func tooLarge(what string) error {
	return refuse(ErrTooLarge, fmt.Errorf("reading %s: larger than %d MiB", what, signing.MaxBundleSize>>20))
}

// Options say which statements Open accepts.
type Options struct {
	// Verifiers are the keys that must have signed a statement; Threshold
	// distinct ones of them (0 means 1) must verify it.
	Verifiers []signing.Verifier
	Threshold int
	// Keyless trusts identities: a Sigstore bundle signed with a Fulcio
	// certificate is accepted when it verifies under Keyless's trusted
	// root for one of its identities. A bundle signed with a key is still
	// checked against Verifiers.
	Keyless *signing.Keyless
	// AllowUnsigned accepts statements without checking who made them when
	// no key or identity is given. With them it changes nothing: a
	// statement they do not verify is refused.
	AllowUnsigned bool
}

// Check reports options that no attestation could satisfy: a negative
// threshold, or one above the number of keys given.
func (o Options) Check() error {
	if o.Threshold < 0 {
		return fmt.Errorf("threshold %d is less than 1", o.Threshold)
	}
	if n := len(o.Verifiers); n > 0 && o.Threshold > n {
		return fmt.Errorf("threshold %d is more than the %d keys given", o.Threshold, n)
	}
	return nil
}

// Attestation is an opened attestation: every statement it holds, in order,
// each with whether it was accepted.
type Attestation struct {
	Statements []Statement
	// Sigstore is the media type of the Sigstore bundle the attestation
	// came in, "" for a statement, envelope or .intoto.jsonl bundle.
	Sigstore string
}

// Statement is one envelope of an attestation (a plain statement counts as
// one unsigned envelope). Its fields other than Err describe the payload
// whether or not it was accepted; act on it only when Err is nil.
type Statement struct {
	// Line is the envelope's place in a bundle, from 1.
	Line int
	// PayloadType is the envelope's; Payload its payload, the bytes signed.
	PayloadType string
	Payload     []byte
	// Type and PredicateType are the statement's _type and predicateType
	// ("" when absent); Subjects its subjects.
	Type, PredicateType string
	Subjects            []Subject
	// Signatures is how many signatures the envelope carries, verified or
	// not.
	Signatures int
	// Verified is true when Threshold of the keys given verified it (never
	// when no key was given).
	Verified bool
	// KeyIDs are the ids of the keys that verified it, also when too few did.
	KeyIDs []string
	// Certified is the certificate that verified it, when it was signed
	// keylessly by a trusted identity.
	Certified *signing.Certified
	// Err is why the statement is refused under the Options, nil when it is
	// accepted; its kind is one of ErrMalformed, ErrNoKey, ErrUnsigned and
	// ErrSignature.
	Err error
}

// Subject is one subject of a statement: a name and its digests by
// algorithm.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Open reads an attestation in any form signing.ReadBundle accepts and
// checks every statement in it against opts. It fails only when the
// attestation as a whole cannot be read (ErrTooLarge, ErrMalformed) or opts
// cannot be met; a statement that is refused says why in its Err.
//
// Open checks what every use relies on: the signature, the payload type,
// and that the payload is strict JSON (see signing.UnmarshalStrict: also
// bounded in depth) with a well-formed subject list. The statement and
// predicate types, and the predicate, are the caller's to require.
func Open(data []byte, opts Options) (*Attestation, error) {
	if err := opts.Check(); err != nil {
		return nil, fmt.Errorf("opening attestation: %w", err)
	}
	if len(data) > signing.MaxBundleSize {
		return nil, tooLarge("attestation")
	}
	envs, mediaType, err := signing.ReadForm(data)
	if err != nil {
		return nil, refuse(ErrMalformed, err)
	}
	if opts.Threshold == 0 {
		opts.Threshold = 1
	}
	a := &Attestation{Statements: make([]Statement, len(envs)), Sigstore: mediaType}
	var kl keyless
	if opts.Keyless != nil && mediaType != "" {
		// A Sigstore bundle holds one envelope: its certificate, log entry
		// and timestamps vouch for it as a whole.
		kl.cert, kl.err = opts.Keyless.VerifyBundle(data)
	}
	for i := range envs {
		a.Statements[i] = open(&envs[i], i+1, opts, kl)
	}
	return a, nil
}

// keyless is the outcome of verifying a Sigstore bundle's certificate:
// cert when it verified, else err (signing.ErrNoCertificate when the
// bundle is signed with a key); both nil when not tried.
type keyless struct {
	cert *signing.Certified
	err  error
}

// open checks one envelope: its payload type, then its signatures, then
// its payload. Err is the first failure; the payload is read even when
// the signature fails, so that callers can tell which statement failed.
func open(env *signing.Envelope, line int, opts Options, kl keyless) Statement {
	st := Statement{Line: line, PayloadType: env.PayloadType, Payload: env.Payload, Signatures: len(env.Signatures)}
	if env.PayloadType != signing.PayloadType {
		st.Err = refuse(ErrMalformed, fmt.Errorf("payloadType is %q, want %q", env.PayloadType, signing.PayloadType))
		return st
	}
	st.Err = st.verify(env, opts, kl)
	if err := st.readPayload(); err != nil && st.Err == nil {
		st.Err = err
	}
	return st
}

func (st *Statement) verify(env *signing.Envelope, opts Options, kl keyless) error {
	switch {
	case kl.cert != nil:
		st.Verified, st.Certified = true, kl.cert
		return nil
	case kl.err != nil && !errors.Is(kl.err, signing.ErrNoCertificate):
		// A certificate that did not verify: no key can vouch for it.
		return refuse(ErrSignature, fmt.Errorf("keyless signature: %w", kl.err))
	case opts.Keyless != nil && len(opts.Verifiers) == 0:
		what := "the bundle is signed with a key"
		if kl.err == nil {
			what = "not a Sigstore bundle"
		}
		return refuse(ErrSignature, fmt.Errorf("keyless signature: %s, and no key was given to verify it with", what))
	case len(opts.Verifiers) == 0:
		if opts.AllowUnsigned {
			return nil
		}
		return ErrNoKey
	}
	_, ids, err := signing.VerifyEnvelope(env, opts.Threshold, opts.Verifiers...)
	st.KeyIDs = ids
	switch {
	case err == nil:
		st.Verified = true
		return nil
	case errors.Is(err, signing.ErrUnsigned):
		return refuse(ErrUnsigned, err)
	}
	return refuse(ErrSignature, err)
}

// readPayload fills the header fields. Subjects are decoded leniently (a
// Statement v1 resource descriptor has more fields than name and digest)
// once the whole payload has passed the strict JSON checks.
func (st *Statement) readPayload() error {
	var head map[string]json.RawMessage
	if err := signing.UnmarshalStrict(st.Payload, &head); err != nil {
		return refuse(ErrMalformed, fmt.Errorf("parsing statement: %w", err))
	}
	for _, f := range []struct {
		key string
		dst any
	}{{"_type", &st.Type}, {"predicateType", &st.PredicateType}, {"subject", &st.Subjects}} {
		raw, ok := head[f.key]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return refuse(ErrMalformed, fmt.Errorf("parsing statement %s: %w", f.key, err))
		}
	}
	return nil
}

// Pick returns the one in-toto statement of the attestation whose
// predicateType is one of predicateTypes (the versions of one kind of
// predicate), accepted or not (its Err says). None is ErrNoStatement; more
// than one is ErrAmbiguous, since a reader could not tell which one the
// attestation vouches for.
func (a *Attestation) Pick(predicateTypes ...string) (*Statement, error) {
	var found []*Statement
	for i := range a.Statements {
		st := &a.Statements[i]
		if st.PayloadType == signing.PayloadType && slices.Contains(predicateTypes, st.PredicateType) {
			found = append(found, st)
		}
	}
	predicateType := strings.Join(predicateTypes, " or ")
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return nil, refuse(ErrAmbiguous, fmt.Errorf("%d envelopes hold a %s statement; expected one", len(found), predicateType))
	case len(a.Statements) == 1:
		return nil, refuse(ErrNoStatement, fmt.Errorf("predicateType is %q, want %q", a.Statements[0].PredicateType, predicateType))
	}
	return nil, refuse(ErrNoStatement, fmt.Errorf("none of the %d envelopes holds a %s statement", len(a.Statements), predicateType))
}

// SubjectFor returns the name of the first subject whose sha256 is sha256
// (compared exactly: as the core writes digests, lower-case hex).
func (st *Statement) SubjectFor(sha256 string) (string, bool) {
	for _, s := range st.Subjects {
		if d := s.Digest["sha256"]; d != "" && d == sha256 {
			return s.Name, true
		}
	}
	return "", false
}
