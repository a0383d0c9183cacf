package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// attest --help says what the statement records and what it does not
// claim; wrong usage exits 2 with one line.
func TestAttestHelpAndUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := execute(context.Background(), []string{"attest", "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("attest --help: exit %d\n%s", code, stderr.String())
	}
	for _, want := range []string{"https://mmbuild.dev/attest/v1", "completeness flag", "--subject", "--material", "--sign-key", "--predicate-type", "--json", "cosign"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("attest --help does not mention %s:\n%s", want, stdout.String())
		}
	}
	for _, args := range [][]string{
		{"attest"},
		{"attest", "--subject", "x", "--predicate-type", "https://example.com/p"},
		{"attest", "--subject", "x", "--sbom", "swid"},
	} {
		stdout.Reset()
		stderr.Reset()
		code := execute(context.Background(), args, &stdout, &stderr)
		if code != 2 || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 || !strings.HasPrefix(stderr.String(), "mmbuild: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}
