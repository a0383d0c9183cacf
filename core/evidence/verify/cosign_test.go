package verify_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
)

// TestVerifyCosignAttestation checks interop the other way round (skipped
// when cosign is not on PATH): an attestation made by
//
//	cosign attest-blob --key cosign.key --type slsaprovenance02 --tlog-upload=false ...
//
// passes every check here with cosign.pub.
func TestVerifyCosignAttestation(t *testing.T) {
	cosign, err := exec.LookPath("cosign")
	if err != nil {
		t.Skip("cosign not on PATH")
	}
	f := newFixture(t)
	dir := t.TempDir()
	runCosign := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, cosign, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=", "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign %v: %v\n%s", args, err, out)
		}
	}
	runCosign("generate-key-pair")

	st, err := provenance.New(f.build)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := json.Marshal(st.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	predPath := filepath.Join(dir, "predicate.json")
	if err := os.WriteFile(predPath, pred, 0o644); err != nil {
		t.Fatal(err)
	}
	envPath := filepath.Join(dir, "app.tar.gz.intoto.json")
	runCosign("attest-blob", "--yes", "--key", "cosign.key", "--type", "slsaprovenance02", "--predicate", predPath,
		"--tlog-upload=false", "--output-signature", envPath, f.artifacts[0])

	pub, err := os.ReadFile(filepath.Join(dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.LoadVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	r, err := verify.File(context.Background(), envPath, verify.Options{
		Artifacts: f.artifacts[:1], Keys: []signing.Verifier{v}, BuilderID: builderID,
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK {
		t.Fatalf("cosign's attestation did not verify:\n%s", dump(r))
	}
}
