package replay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/vsa"
)

// File names of a replay's verdict.
const (
	VSAName         = "vsa.json"          // the statement
	VSABundleName   = "vsa.intoto.jsonl"  // its DSSE envelope, signed
	VSASigstoreName = "vsa.sigstore.json" // its Sigstore bundle v0.3, signed
	vsaBase         = "vsa"               // evidence.Sign's base of the names above
)

// EvidenceFile is one file of a replay's verdict.
type EvidenceFile = evidence.File

// Verdict is the VSA of a replay that ran, as files: the statement, and
// with signers its envelope and Sigstore bundle. attestationURI names the
// attestation replayed (as given, without credentials), data is its bytes
// (their sha256 is recorded).
func Verdict(ctx context.Context, res *Result, attestationURI string, data []byte, now time.Time, signers ...signing.Signer) ([]EvidenceFile, error) {
	if res.DryRun {
		return nil, fmt.Errorf("writing the VSA: a dry run verifies nothing")
	}
	sum := sha256.Sum256(data)
	s := vsa.Summary{
		TimeVerified: now,
		ResourceURI:  res.ResourceURI,
		Inputs:       []vsa.Input{{URI: attestationURI, Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		Passed:       res.Reproducible,
	}
	for _, sub := range res.Subjects {
		v := vsa.Subject{Name: sub.Name, Digest: sub.Recorded, Outcome: vsa.Match}
		switch {
		case sub.Missing:
			v.Outcome = vsa.Missing
		case !sub.Match:
			v.Outcome, v.Rebuilt = vsa.Differs, sub.Rebuilt["sha256"]
		}
		s.Subjects = append(s.Subjects, v)
	}
	stmt, err := vsa.Encode(s)
	if err != nil {
		return nil, err
	}
	// The same signed forms as the provenance's: vsa.json,
	// vsa.intoto.jsonl, vsa.sigstore.json.
	return evidence.Sign(ctx, vsaBase, stmt, signers...)
}
