package verify_test

import (
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
)

// An SBOM statement of either format verifies on its own: signature,
// the document read by its format's library, the artifacts it describes
// being its subjects, and the subjects covering the files given.
func TestVerifySBOMStatement(t *testing.T) {
	k1, _ := keys(t)
	f := newFixture(t)
	in := sbom.Inputs{Name: "app", Created: now}
	for _, s := range f.build.Subjects {
		in.Artifacts = append(in.Artifacts, sbom.Artifact{Name: s.URI, Digest: s.Digest, Size: 8})
	}
	for _, format := range sbom.Formats {
		doc, err := sbom.Document(in, format)
		if err != nil {
			t.Fatal(err)
		}
		st, err := sbom.Statement(in, format, doc)
		if err != nil {
			t.Fatal(err)
		}
		opts := verify.Options{Artifacts: f.artifacts, Keys: []signing.Verifier{k1.v}}
		r := run(t, signed(t, st, k1.s), opts)
		if !r.OK {
			t.Fatalf("%s: %s", format, dump(r))
		}
		// A statement whose SBOM describes another file than its subject.
		lied := strings.Replace(string(st), f.build.Subjects[0].Digest["sha256"], strings.Repeat("0", 64), 1)
		r = run(t, signed(t, []byte(lied), k1.s), verify.Options{Keys: opts.Keys})
		if c, _ := r.Check(verify.CheckPredicateType); c.Status != verify.Fail {
			t.Fatalf("%s: an SBOM that disagrees with its subjects passed: %s", format, dump(r))
		}
	}
}
