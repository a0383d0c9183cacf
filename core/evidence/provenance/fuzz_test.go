package provenance

import (
	"os"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/fuzzwatch"
)

// FuzzDecode checks the one reader of provenance on any input: no panic,
// every error one line, and whatever it accepts is a statement of a type
// and predicate it knows, whose subjects have digests and whose mmbuild
// invocation (when it claims to be mmbuild's) reads back or errs cleanly.
func FuzzDecode(f *testing.F) {
	for _, fm := range []Format{V02, V1} {
		data, err := Encode(sample(), fm)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	if data, err := os.ReadFile("testdata/github-v1.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","subject":[],"predicate":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer fuzzwatch.Start("Decode", data)()
		rec, err := Decode(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		if rec.StatementType != StatementV01 && rec.StatementType != StatementV1 {
			t.Fatalf("accepted _type %q", rec.StatementType)
		}
		if rec.Format != V02 && rec.Format != V1 || rec.PredicateType != rec.Format.PredicateType() {
			t.Fatalf("accepted format %q predicate %q", rec.Format, rec.PredicateType)
		}
		if rec.StatementType == StatementV1 {
			for _, s := range rec.Subjects {
				if len(s.Digest) == 0 {
					t.Fatalf("accepted a v1 subject without a digest: %+v", s)
				}
			}
		}
		if _, err := rec.Invocation(); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
	})
}
