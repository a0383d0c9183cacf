package verify_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// cosignIn returns a runner of the cosign binary in dir, offline, with an
// empty key password and dir as its home: a failure fails the test.
func cosignIn(t *testing.T, cosign, dir string) func(args ...string) {
	return func(args ...string) {
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
}

// TestVerifyCosignAttestation checks interop the other way round (cosign found
// by testservers.Tool): an attestation made by
//
//	cosign attest-blob --key cosign.key --type slsaprovenance02 --tlog-upload=false ...
//
// passes every check here with cosign.pub.
func TestVerifyCosignAttestation(t *testing.T) {
	cosign := testservers.Tool(t, "cosign")
	f := newFixture(t)
	dir := t.TempDir()
	runCosign := cosignIn(t, cosign, dir)
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

// TestVerifyCosign3Bundle reads what cosign 3 writes by default (cosign3 found
// by testservers.Tool): a Sigstore bundle made by
//
//	cosign attest-blob --key cosign.key --type T --bundle B --use-signing-config=false --tlog-upload=false ...
//
// with either SLSA version passes every check here with cosign.pub, and
// fails with another key.
func TestVerifyCosign3Bundle(t *testing.T) {
	cosign := testservers.Tool(t, "cosign3")
	f := newFixture(t)
	dir := t.TempDir()
	runCosign := cosignIn(t, cosign, dir)
	runCosign("generate-key-pair")
	pub, err := os.ReadFile(filepath.Join(dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.LoadVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPub, _ := signing.Generate(signing.ECDSAP256)
	other, _ := signing.LoadVerifier(otherPub)
	for _, tc := range []struct {
		format     provenance.Format
		cosignType string
	}{{provenance.V02, "slsaprovenance02"}, {provenance.V1, "slsaprovenance1"}} {
		t.Run(string(tc.format), func(t *testing.T) {
			stmt, err := provenance.Encode(f.build, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			var whole struct {
				Predicate json.RawMessage `json:"predicate"`
			}
			if err := json.Unmarshal(stmt, &whole); err != nil {
				t.Fatal(err)
			}
			predPath := filepath.Join(dir, string(tc.format)+"-predicate.json")
			if err := os.WriteFile(predPath, whole.Predicate, 0o644); err != nil {
				t.Fatal(err)
			}
			bundlePath := filepath.Join(dir, string(tc.format)+".sigstore.json")
			runCosign("attest-blob", "--yes", "--key", "cosign.key", "--type", tc.cosignType, "--predicate", predPath,
				"--use-signing-config=false", "--tlog-upload=false", "--bundle", bundlePath, f.artifacts[0])
			opts := verify.Options{
				Artifacts: f.artifacts[:1], Keys: []signing.Verifier{v}, BuilderID: builderID,
				Now: func() time.Time { return now },
			}
			r, err := verify.File(context.Background(), bundlePath, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK {
				t.Fatalf("cosign 3's bundle did not verify:\n%s", dump(r))
			}
			if c, _ := r.Check(verify.CheckEnvelope); !strings.Contains(c.Detail, "Sigstore bundle") {
				t.Fatalf("envelope check does not say it read a Sigstore bundle: %s", c.Detail)
			}
			if r.Statement.Format != tc.format {
				t.Fatalf("read as %s", r.Statement.Format)
			}
			opts.Keys = []signing.Verifier{other}
			if r, _ := verify.File(context.Background(), bundlePath, opts); r.OK {
				t.Fatal("cosign 3's bundle verified with another key")
			}
		})
	}
}
