package summary_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/summary"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// The attestation package's fixtures: a signed statement of app.tar.gz and
// mmctl, and the public key that signed it.
var fixtures = filepath.Join("..", "..", "evidence", "attestation", "testdata")

func verifier(t *testing.T, pem []byte) signing.Verifier {
	t.Helper()
	v, err := signing.LoadVerifier(pem)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReadAndMarkdown(t *testing.T) {
	pub, err := os.ReadFile(filepath.Join(fixtures, "signer.pub"))
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"MMBUILD_STAGING_URL":             "s3://b/app/k1",
		"MMBUILD_STAGING_PATH":            "k1",
		"MMBUILD_ARTIFACT_APP_TAR_GZ_URL": "s3://b/app/k1/app.tar.gz",
	}
	s, err := summary.Read(filepath.Join(fixtures, "provenance.json"), filepath.Join(fixtures, "signed.intoto.jsonl"), outputs, []signing.Verifier{verifier(t, pub)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Verify != "ok" || s.Signatures != 1 || len(s.Artifacts) != 2 || len(s.Materials) == 0 {
		t.Fatalf("summary: %+v", s)
	}
	var b strings.Builder
	if err := s.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, w := range []string{"| staging URL | `s3://b/app/k1` |", "| app.tar.gz | `sha256:", "| `s3://b/app/k1/app.tar.gz` |",
		"| mmctl | `sha256:", "| git+https://git.example.com/org/app.git@3f2c6b1e9a0d4c8b7a6f5e4d3c2b1a0f9e8d7c6b | `sha1:", "| verified with the given key | ok |"} {
		if !strings.Contains(md, w) {
			t.Errorf("Markdown lacks %q:\n%s", w, md)
		}
	}

	// The supply chain, as a Mermaid block GitHub draws: the build,
	// verified with the key, between its materials and artifacts.
	_, block, ok := strings.Cut(md, "\n#### Supply chain\n\n```mermaid\nflowchart LR\n")
	if !ok || !strings.HasSuffix(block, "\n```\n") || strings.Count(block, "```") != 1 {
		t.Errorf("no Mermaid block of the supply chain at the end:\n%s", md)
	}
	for _, w := range []string{"artifact: app.tar.gz", "mmctl", "<br/>VERIFIED", "class n"} {
		if !strings.Contains(block, w) {
			t.Errorf("the Mermaid block lacks %q:\n%s", w, block)
		}
	}

	// Another key: the check fails, and says so.
	other, err := signing.WriteKeyPair(filepath.Join(t.TempDir(), "other"), signing.DefaultAlgorithm, false)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _ := os.ReadFile(other.PublicPath)
	s, err = summary.Read(filepath.Join(fixtures, "provenance.json"), filepath.Join(fixtures, "signed.intoto.jsonl"), outputs, []signing.Verifier{verifier(t, otherPub)})
	if err != nil || !strings.HasPrefix(s.Verify, "failed: ") {
		t.Errorf("verified with a key that did not sign: %+v, %v", s, err)
	}
	// No bundle: not signed, and a key cannot verify it.
	s, err = summary.Read(filepath.Join(fixtures, "provenance.json"), filepath.Join(t.TempDir(), "none.intoto.jsonl"), outputs, []signing.Verifier{verifier(t, pub)})
	if err != nil || s.Signatures != 0 || s.Verify != "failed: the build wrote no signed bundle" {
		t.Errorf("missing bundle: %+v, %v", s, err)
	}
}

// A cell never breaks the table: pipes are escaped, line breaks flattened.
func TestMarkdownCells(t *testing.T) {
	s := &summary.Summary{Materials: []summary.Entry{{Name: "https://h/a|b\nc", Digest: "sha256:00"}}}
	var b strings.Builder
	if err := s.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| https://h/a\\|b c | `sha256:00` |\n") {
		t.Errorf("cell not escaped:\n%s", b.String())
	}
}

// Without a local attestation the summary is build.env's: URLs, no digests.
func TestFromOutputs(t *testing.T) {
	s, err := summary.Read("", "", map[string]string{"MMBUILD_STAGING_URL": "s3://b/k", "MMBUILD_ARTIFACT_A_TXT_URL": "s3://b/k/a.txt"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.StagingURL != "s3://b/k" || len(s.Artifacts) != 1 || s.Artifacts[0] != (summary.Entry{Name: "a.txt", URL: "s3://b/k/a.txt"}) || s.Verify != "" {
		t.Errorf("summary: %+v", s)
	}
}
