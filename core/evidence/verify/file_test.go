package verify_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
)

// A file over the size limit is content that fails the envelope check, not
// a failure to read: the report says so and skips the rest.
func TestFileTooLarge(t *testing.T) {
	k1, _ := keys(t)
	f := newFixture(t)
	path := filepath.Join(f.dir, "big.intoto.jsonl")
	big := append(signed(t, f.statement(t), k1.s), bytes.Repeat([]byte("\n"), signing.MaxBundleSize)...)
	if err := os.WriteFile(path, big, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := verify.File(context.Background(), path, verify.Options{Keys: []signing.Verifier{k1.v}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.Check(verify.CheckEnvelope)
	if c.Status != verify.Fail || !strings.Contains(c.Detail, "larger than 16 MiB") || strings.Join(r.Failed(), ",") != verify.CheckEnvelope {
		t.Fatalf("envelope check %+v, failed %v", c, r.Failed())
	}
	if _, err := verify.File(context.Background(), path, verify.Options{Keys: []signing.Verifier{k1.v}, Threshold: 3}); err == nil {
		t.Fatal("threshold above the keys given: no error")
	}
}
