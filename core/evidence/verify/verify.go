package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/vsa"
)

// Check names, in the order they are reported.
const (
	CheckEnvelope      = "envelope"
	CheckSignature     = "signature"
	CheckStatementType = "statement-type"
	CheckPredicateType = "predicate-type"
	CheckSubjects      = "subjects"
	CheckBuilderID     = "builder-id"
	CheckSourceURI     = "source-uri"
	CheckSourceCommit  = "source-commit"
	CheckMaterials     = "materials"
	CheckTimes         = "times"
	// CheckVerdict is a VSA's verificationResult (PASSED passes).
	CheckVerdict = "verification-result"
)

// CheckNames lists every check in report order.
var CheckNames = []string{
	CheckEnvelope, CheckSignature, CheckStatementType, CheckPredicateType, CheckSubjects,
	CheckBuilderID, CheckSourceURI, CheckSourceCommit, CheckMaterials, CheckTimes, CheckVerdict,
}

// Status is the outcome of one check.
type Status string

// The outcomes. Skipped is never a pass: it says the check was not made
// (not requested, not applicable, or an earlier check failed).
const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Skipped Status = "skipped"
)

// Check is one named check with a one-line detail.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

// Report is the outcome of all checks. OK is true when no check failed.
type Report struct {
	Checks []Check `json:"checks"`
	OK     bool    `json:"ok"`
	// KeyIDs are the ids of the keys whose signatures verified.
	KeyIDs []string `json:"key_ids,omitempty"`
	// Certificate is the signer's certificate when a trusted identity
	// signed keylessly.
	Certificate *Certificate `json:"certificate,omitempty"`
	// Statement is the parsed statement when it parsed, whatever the
	// checks say: use it only when OK.
	Statement *provenance.Record `json:"-"`
	// VSA is the parsed verification summary when the attestation is one
	// (Statement is then nil).
	VSA *vsa.Summary `json:"-"`
}

// Check returns the check of that name, if reported.
func (r *Report) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Failed lists the names of the failed checks.
func (r *Report) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c.Name)
		}
	}
	return out
}

// Err is nil when the report is OK, else an error naming the failed checks
// and the first failure's detail.
func (r *Report) Err() error {
	failed := r.Failed()
	if len(failed) == 0 {
		return nil
	}
	first, _ := r.Check(failed[0])
	return fmt.Errorf("verification failed: %s (%s: %s)", strings.Join(failed, ", "), first.Name, first.Detail)
}

// MaxSkew is how far in the future a recorded time may lie (clock skew).
const MaxSkew = 5 * time.Minute

// Options are what to verify and against what.
type Options struct {
	// Artifacts are paths of files that subjects must cover; Digests are
	// artifacts given by a digest instead of the file (--digest).
	Artifacts []string
	Digests   []Digest
	// Keys verify the signature; Threshold of them (default 1) must.
	Keys      []signing.Verifier
	Threshold int
	// Keyless verifies a Sigstore bundle signed with a certificate: its
	// trusted root and the identities trusted. Nil: the policy's, if any.
	Keyless *signing.Keyless
	// AllowUnsigned reports the signature check as skipped instead of
	// failed when no key or identity is given.
	AllowUnsigned bool
	// Expectations; empty means not checked (reported as skipped).
	//
	// SourceURI is compared with invocation.configSource.uri: exactly when
	// it carries an @revision suffix itself, else with the recorded URI's
	// @revision removed; a git+ prefix may be left out of it.
	BuilderID, SourceURI, SourceCommit string
	// Now returns the current time; time.Now if nil.
	Now func() time.Time
	// Policy adds the policy's checks (PolicyCheckNames) to the report; its
	// keys and threshold are used when Keys is empty.
	Policy *Policy
}

// File reads the attestation at path and verifies it. Only failing to read
// the file is an error; everything about its content is in the report,
// also its being too large.
func File(ctx context.Context, path string, opts Options) (*Report, error) {
	opts = opts.withPolicyKeys()
	data, err := attestation.ReadFile(path)
	if errors.Is(err, attestation.ErrTooLarge) {
		if err := opts.check(); err != nil {
			return nil, err
		}
		return verify(ctx, nil, err, opts), nil
	}
	if err != nil {
		return nil, err
	}
	return Attestation(ctx, data, opts)
}

// Attestation verifies an attestation given as bytes: a statement, an
// envelope or a .intoto.jsonl bundle.
func Attestation(ctx context.Context, data []byte, opts Options) (*Report, error) {
	opts = opts.withPolicyKeys()
	if err := opts.check(); err != nil {
		return nil, err
	}
	a, err := attestation.Open(data, opts.openOptions())
	return verify(ctx, a, err, opts), nil
}

func (o *Options) openOptions() attestation.Options {
	return attestation.Options{Verifiers: o.Keys, Threshold: o.Threshold, AllowUnsigned: o.AllowUnsigned, Keyless: o.Keyless}
}

// withPolicyKeys is opts with the policy's keys and threshold when no key
// was given, and its identities when none was: the policy is where a
// consumer keeps whom it trusts.
func (o Options) withPolicyKeys() Options {
	if o.Policy != nil && len(o.Keys) == 0 && o.Keyless == nil {
		o.Keys, o.Threshold, o.Keyless = o.Policy.Verifiers, o.Policy.Threshold, o.Policy.Keyless
	}
	return o
}

func (o *Options) check() error { return o.openOptions().Check() }

// verify runs every check in order. openErr is the error opening the
// attestation, if any.
func verify(ctx context.Context, a *attestation.Attestation, openErr error, opts Options) *Report {
	r := &Report{}
	add := func(name string, s Status, format string, args ...any) {
		r.Checks = append(r.Checks, result(name, s, format, args...))
	}
	skipRest := func(reason string) {
		for _, n := range CheckNames[len(r.Checks):] {
			add(n, Skipped, "not checked: %s", reason)
		}
	}
	defer func() {
		r.OK = len(r.Failed()) == 0
	}()

	// envelope
	if openErr != nil {
		add(CheckEnvelope, Fail, "%v", openErr)
		skipRest("the attestation did not parse")
		return r
	}
	st, detail, err := pickStatement(a)
	if err != nil {
		add(CheckEnvelope, Fail, "%v", err)
		skipRest("no envelope to check")
		return r
	}
	add(CheckEnvelope, Pass, "%s", detail)

	// signature
	checkSignature(st, opts, r, add)

	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	// statement-type, predicate-type
	if pt := sbomPredicate(st.Payload); pt != "" {
		verifySBOM(ctx, st, pt, opts, r, add)
		return r
	}
	if isVSA(st.Payload) {
		verifyVSA(ctx, st.Payload, opts, now(), r, add)
		if opts.Policy != nil && r.VSA != nil {
			r.Checks = append(r.Checks, policyChecks(opts.Policy, st.PredicateType, nil, r.Certificate)...)
		}
		return r
	}
	prov, ok := checkStatement(st.Payload, add)
	if !ok {
		skipRest("the statement did not parse")
		return r
	}
	r.Statement = prov
	r.Checks = append(r.Checks,
		checkSubjects(ctx, prov.Subjects, opts.Artifacts, opts.Digests),
		checkBuilderID(prov, opts.BuilderID),
		checkSourceURI(prov, opts.SourceURI),
		checkSourceCommit(prov, opts.SourceCommit),
		checkMaterials(prov),
		checkTimes(prov, now()),
		result(CheckVerdict, Skipped, "not a verification summary"),
	)
	if opts.Policy != nil {
		r.Checks = append(r.Checks, policyChecks(opts.Policy, prov.PredicateType, prov, r.Certificate)...)
	}
	return r
}

// checkSignature reports what Open found of the statement's signatures.
func checkSignature(st *attestation.Statement, opts Options, r *Report, add func(string, Status, string, ...any)) {
	sigs := fmt.Sprintf("%d signature%s", st.Signatures, plural(st.Signatures))
	if st.Certified != nil {
		r.Certificate = newCertificate(st.Certified)
		add(CheckSignature, Pass, "%s; trusted identity: %s", st.Certified, st.Certified.Identity)
		return
	}
	if len(opts.Keys) == 0 && opts.Keyless == nil {
		if opts.AllowUnsigned {
			add(CheckSignature, Skipped, "NOT VERIFIED: no key or identity given and unsigned attestations allowed (%s present)", sigs)
			return
		}
		add(CheckSignature, Fail, "no key or identity given to verify the %s with (give a public key or a certificate identity, or allow unsigned attestations)", sigs)
		return
	}
	threshold := opts.Threshold
	if threshold == 0 {
		threshold = 1
	}
	r.KeyIDs = st.KeyIDs
	if !st.Verified {
		// Open checks the signature before the payload: with keys given,
		// an unverified statement's Err is the signature's.
		add(CheckSignature, Fail, "%v", st.Err)
		return
	}
	ids := st.KeyIDs
	add(CheckSignature, Pass, "%d of %d key%s verified (threshold %d): %s", len(ids), len(opts.Keys), plural(len(opts.Keys)), threshold, strings.Join(shortIDs(ids), ", "))
}

func shortIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if len(id) > 16 {
			id = id[:16] + "…"
		}
		out[i] = id
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
