package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// mmbuild run appends a Markdown job summary to $GITHUB_STEP_SUMMARY when
// it is set (or to --summary FILE): artifacts and materials with digests,
// the staging URL, the signature and its check with the signing key.
func TestRunWritesJobSummary(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir, key, _ := trustHello(t, in)
	gh := filepath.Join(t.TempDir(), "step-summary.md")
	if err := os.WriteFile(gh, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in.Env = append(in.Env, "GITHUB_STEP_SUMMARY="+gh)
	engineMustRun(t, in, dir, "run", "--sign-key", key)
	data, err := os.ReadFile(gh)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	want := sha256Hex(t, mustRead(t, filepath.Join(dir, "dist/hello.tar.gz")))
	for _, part := range []string{"earlier step\n", "hello.tar.gz", "sha256:" + want, "staging URL", "greeting.txt", "| ok |", "#### Supply chain\n\n```mermaid\nflowchart LR\n"} {
		if !strings.Contains(s, part) {
			t.Errorf("the job summary lacks %q:\n%s", part, s)
		}
	}
	// --summary FILE elsewhere.
	other := filepath.Join(t.TempDir(), "summary.md")
	engineMustRun(t, in, dir, "run", "--force", "--summary", other)
	if b, err := os.ReadFile(other); err != nil || !strings.Contains(string(b), "hello.tar.gz") {
		t.Fatalf("--summary wrote %q, %v", b, err)
	}
}
