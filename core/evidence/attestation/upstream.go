package attestation

import (
	"errors"
	"fmt"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// Upstream is what an upstream attestation says about a material.
type Upstream struct {
	// Subject is the name of the subject whose sha256 is the material's;
	// Line the bundle line of the statement that holds it.
	Subject string
	Line    int
	// Signed is true when one of the keys or identities given verified
	// that statement. It is false when none was given: the statement was
	// taken as it is, and the caller should warn that anyone could have
	// made it.
	Signed bool
	KeyIDs []string
	// Signer is the certificate's identity when it was signed keylessly.
	Signer string
}

// Trust is whom an upstream attestation must be signed by: one of Keys,
// or keylessly one of Keyless's identities. Neither: anyone (the statement
// is taken as it is).
type Trust struct {
	Keys    []signing.Verifier
	Keyless *signing.Keyless
}

// CheckUpstream finds the statement of an upstream attestation (data as
// Read returns it) that vouches for a material whose sha256 the core
// computed. With keys or identities, a statement counts only when one of
// them verifies it: one that is unsigned (ErrUnsigned) or whose signature
// fails (ErrSignature) is passed over and the next is tried. With neither,
// every statement counts, signed or not. When no statement covers the
// digest, the error is the last statement's: its refusal, or ErrNoSubject.
func CheckUpstream(data []byte, trust Trust, sha256 string) (Upstream, error) {
	anyone := len(trust.Keys) == 0 && trust.Keyless == nil
	a, err := Open(data, Options{Verifiers: trust.Keys, Keyless: trust.Keyless, Threshold: 1, AllowUnsigned: anyone})
	if err != nil {
		return Upstream{}, err
	}
	var last error
	for i := range a.Statements {
		st := &a.Statements[i]
		if st.Err != nil {
			last = st.Err
			continue
		}
		if name, ok := st.SubjectFor(sha256); ok {
			up := Upstream{Subject: name, Line: st.Line, Signed: st.Verified, KeyIDs: st.KeyIDs}
			if st.Certified != nil {
				up.Signer = st.Certified.Subject
			}
			return up, nil
		}
		last = refuse(ErrNoSubject, fmt.Errorf("no subject has the material's sha256 %s", sha256))
	}
	if last == nil {
		last = refuse(ErrMalformed, errors.New("the attestation holds no statement"))
	}
	return Upstream{}, last
}
