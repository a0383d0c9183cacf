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
	// Signed is true when one of the keys given verified that statement.
	// It is false when no key was given: the statement was taken as it is,
	// and the caller should warn that anyone could have made it.
	Signed bool
	KeyIDs []string
}

// CheckUpstream finds the statement of an upstream attestation (data as
// Read returns it) that vouches for a material whose sha256 the core
// computed. With verifiers, a statement counts only when one of them
// verifies it: one that is unsigned (ErrUnsigned) or whose signature fails
// (ErrSignature) is passed over and the next is tried. With none, every
// statement counts, signed or not. When no statement covers the digest,
// the error is the last statement's: its refusal, or ErrNoSubject.
func CheckUpstream(data []byte, verifiers []signing.Verifier, sha256 string) (Upstream, error) {
	a, err := Open(data, Options{Verifiers: verifiers, Threshold: 1, AllowUnsigned: len(verifiers) == 0})
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
			return Upstream{Subject: name, Line: st.Line, Signed: st.Verified, KeyIDs: st.KeyIDs}, nil
		}
		last = refuse(ErrNoSubject, fmt.Errorf("no subject has the material's sha256 %s", sha256))
	}
	if last == nil {
		last = refuse(ErrMalformed, errors.New("the attestation holds no statement"))
	}
	return Upstream{}, last
}
