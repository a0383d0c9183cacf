package verify

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// Certificate is the verified certificate of a keyless signature, as the
// report shows it.
type Certificate struct {
	// Subject is the certificate's identity (subject alternative name),
	// Issuer the OIDC issuer that vouched for it.
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	// Repository, Ref and Workflow are the CI's certificate extensions.
	Repository string `json:"repository,omitempty"`
	Ref        string `json:"ref,omitempty"`
	Workflow   string `json:"workflow,omitempty"`
	// Identity is the trusted identity it matched.
	Identity signing.Identity `json:"identity"`
	// Timestamps say who observed the signature when.
	Timestamps []string `json:"timestamps"`
	// SCT is true when the certificate's SCT was verified.
	SCT bool `json:"sct"`

	certified *signing.Certified
}

func newCertificate(c *signing.Certified) *Certificate {
	return &Certificate{
		Subject: c.Subject, Issuer: c.Issuer, Repository: c.Repository, Ref: c.Ref, Workflow: c.Workflow,
		Identity: c.Identity, Timestamps: c.Timestamps, SCT: c.SCT, certified: c,
	}
}

// Digest is an artifact given by its digest instead of its file
// (--digest sha512:HEX): a subject must record that digest.
type Digest struct {
	Algorithm string
	Hex       string
}

func (d Digest) String() string { return d.Algorithm + ":" + d.Hex }

// ParseDigest reads ALG:HEX, ALG one of sha256, sha512 (sha1 is too weak
// to stand for an artifact).
func ParseDigest(s string) (Digest, error) {
	alg, h, ok := strings.Cut(s, ":")
	if !ok {
		return Digest{}, fmt.Errorf("digest %q: want ALGORITHM:HEX (sha256:… or sha512:…)", s)
	}
	alg, h = strings.ToLower(alg), strings.ToLower(h)
	n, known := hexLen[alg]
	if !known || alg == digest.SHA1 {
		return Digest{}, fmt.Errorf("digest %q: algorithm %q is not sha256 or sha512", s, alg)
	}
	if _, err := hex.DecodeString(h); err != nil || len(h) != n {
		return Digest{}, fmt.Errorf("digest %q: want %d hex digits for %s", s, n, alg)
	}
	return Digest{Algorithm: alg, Hex: h}, nil
}
