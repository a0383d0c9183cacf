package verify_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// writePolicy writes a policy file (and the public key it names) and
// loads it.
func writePolicy(t *testing.T, yaml string, pub []byte) (*verify.Policy, error) {
	t.Helper()
	dir := t.TempDir()
	if pub != nil {
		if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "keys", "release.pub"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return verify.LoadPolicy(p)
}

func pubPEM(t *testing.T, v signing.Verifier) []byte {
	t.Helper()
	b, err := signing.PublicKeyPEM(v.Public())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPolicy(t *testing.T) {
	k1, k2 := keys(t)
	f := newFixture(t)
	material := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		policy string
		key    signing.Verifier // the policy's key
		format provenance.Format
		failed []string
	}{
		{name: "everything allowed", format: provenance.V1, key: k1.v, policy: `keys: [keys/release.pub]
predicateTypes: [https://slsa.dev/provenance/v1]
builderIDs: [` + builderID + `]
sources: [{repo: ` + repo + `, refs: [` + commit + `]}]
materials: [{uri: s3://bucket/webapp.tar.gz, sha256: ` + material + `}]
`},
		{name: "v0.2 not allowed", format: provenance.V02, key: k1.v, policy: "keys: [keys/release.pub]\npredicateTypes: [https://slsa.dev/provenance/v1]\n",
			failed: []string{verify.CheckPolicyPredicateType}},
		{name: "untrusted builder", format: provenance.V1, key: k1.v, policy: "keys: [keys/release.pub]\nbuilderIDs: [https://other.example/builder]\n",
			failed: []string{verify.CheckPolicyBuilderID}},
		{name: "other repository", format: provenance.V02, key: k1.v, policy: "keys: [keys/release.pub]\nsources: [{repo: https://git.example.com/org/fork.git}]\n",
			failed: []string{verify.CheckPolicySource}},
		{name: "repository at another ref", format: provenance.V02, key: k1.v, policy: "keys: [keys/release.pub]\nsources: [{repo: " + repo + ", refs: [refs/heads/main]}]\n",
			failed: []string{verify.CheckPolicySource}},
		{name: "required material missing", format: provenance.V1, key: k1.v, policy: "keys: [keys/release.pub]\nmaterials: [{sha256: " + strings.Repeat("cd", 32) + "}]\n",
			failed: []string{verify.CheckPolicyMaterials}},
		{name: "material at another uri", format: provenance.V1, key: k1.v, policy: "keys: [keys/release.pub]\nmaterials: [{uri: s3://other/webapp.tar.gz, sha256: " + material + "}]\n",
			failed: []string{verify.CheckPolicyMaterials}},
		{name: "signed by a key the policy does not trust", format: provenance.V1, key: k2.v, policy: "keys: [keys/release.pub]\n",
			failed: []string{verify.CheckSignature}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := writePolicy(t, tt.policy, pubPEM(t, tt.key))
			if err != nil {
				t.Fatal(err)
			}
			stmt, err := provenance.Encode(f.build, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			r := run(t, signed(t, stmt, k1.s), verify.Options{Artifacts: f.artifacts, Policy: p})
			if got, want := strings.Join(r.Failed(), ","), strings.Join(tt.failed, ","); got != want {
				t.Fatalf("failed checks [%s], want [%s]\n%s", got, want, dump(r))
			}
			for _, n := range verify.PolicyCheckNames {
				if _, ok := r.Check(n); !ok {
					t.Fatalf("no %s check in the report", n)
				}
			}
		})
	}
}

func TestLoadPolicyRefuses(t *testing.T) {
	for name, tt := range map[string]struct{ yaml, want string }{
		"unknown key":     {"keys: []\nbuilders: [x]\n", "field builders not found"},
		"bad sha256":      {"materials: [{sha256: abc}]\n", "not 64 hex digits"},
		"threshold":       {"threshold: 2\n", "threshold 2"},
		"missing key":     {"keys: [nope.pub]\n", "keys:"},
		"empty":           {"", "empty"},
		"source, no repo": {"sources: [{refs: [main]}]\n", "repo is empty"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := writePolicy(t, tt.yaml, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("LoadPolicy: %v, want %q on one line", err, tt.want)
			}
		})
	}
}

// Another builder's SLSA v1 provenance (GitHub's layout), attested by
// cosign 3 into a Sigstore bundle, checked against a policy naming its
// builder, repository and ref (cosign3 found by testservers.Tool).
func TestPolicyOnCosign3BundleOfAnotherBuilder(t *testing.T) {
	cosign := testservers.Tool(t, "cosign3")
	dir := t.TempDir()
	data, err := os.ReadFile("../provenance/testdata/github-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Predicate json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	artifact := filepath.Join(dir, "app-linux-amd64")
	for name, content := range map[string][]byte{"predicate.json": st.Predicate, "app-linux-amd64": []byte("the app\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runCosign := cosignIn(t, cosign, dir)
	runCosign("generate-key-pair")
	runCosign("attest-blob", "--yes", "--key", "cosign.key", "--type", "slsaprovenance1", "--predicate", "predicate.json",
		"--use-signing-config=false", "--tlog-upload=false", "--bundle", "app.sigstore.json", artifact)
	ctx := context.Background()
	pub, err := os.ReadFile(filepath.Join(dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref    string
		failed string
	}{{"refs/heads/main", ""}, {"refs/heads/release", verify.CheckPolicySource}} {
		p, err := writePolicy(t, `keys: [keys/release.pub]
predicateTypes: [https://slsa.dev/provenance/v1]
builderIDs: [https://github.com/actions/runner/github-hosted]
sources: [{repo: https://github.com/octo/app, refs: [`+tc.ref+`]}]
`, pub)
		if err != nil {
			t.Fatal(err)
		}
		r, err := verify.File(ctx, filepath.Join(dir, "app.sigstore.json"), verify.Options{Artifacts: []string{artifact}, Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		// The sample's subject digest is not of our file: only policy and
		// signature checks are asserted here.
		var failed []string
		for _, n := range r.Failed() {
			if n != verify.CheckSubjects {
				failed = append(failed, n)
			}
		}
		if got := strings.Join(failed, ","); got != tc.failed {
			t.Fatalf("ref %s: failed [%s], want [%s]\n%s", tc.ref, got, tc.failed, dump(r))
		}
	}
}
