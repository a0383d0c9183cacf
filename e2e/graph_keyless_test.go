package e2e

import (
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// TestGraphKeylessByIdentity draws a keyless build of examples/hello from
// its staging URL with verify's identity flags: the trusted identity marks
// the build verified (read from the provenance.sigstore.json published
// there, which carries the certificate), another identity marks it failed
// on its signature, and no identity leaves it unverified.
func TestGraphKeylessByIdentity(t *testing.T) {
	t.Parallel()
	s := testservers.StartSigstore(t)
	in := testenv.NewInstall(t)
	dir := keylessHello(t)
	in.Env = append(in.Env, "SIGSTORE_ID_TOKEN="+s.Token(t, keylessWho))
	engineMustRun(t, in, dir, "plugins", "lock")
	rep, _ := engineRunJSON(t, in, dir, "--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot)
	if !strings.HasPrefix(rep.StagingURL, "file://") {
		t.Fatalf("staging URL %q", rep.StagingURL)
	}
	trust := func(who string) []string {
		return []string{"--certificate-identity", who, "--certificate-oidc-issuer", s.Issuer(), "--trusted-root", s.TrustedRoot}
	}
	for _, tt := range []struct {
		name   string
		args   []string
		status string
		file   string
		reason string
	}{
		{name: "the signer's identity", args: trust(keylessWho), status: "verified", file: "/provenance.sigstore.json"},
		{name: "another identity", args: trust("someone-else@example.com"), status: "failed", file: "/provenance.sigstore.json", reason: "signature"},
		{name: "no identity", status: "unverified", file: "/provenance.intoto.jsonl", reason: "no key or identity given"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := drawJSON(t, in, dir, append(append([]string{"graph"}, tt.args...), rep.StagingURL)...)
			builds := 0
			for _, n := range g.Nodes {
				if n.Kind != "build" {
					continue
				}
				builds++
				if n.Status != tt.status || strings.Fields(n.File)[0] != rep.StagingURL+tt.file || !strings.Contains(n.Reason, tt.reason) {
					t.Errorf("build from %s is %s (%s), want %s from %s%s (%s)", n.File, n.Status, n.Reason, tt.status, rep.StagingURL, tt.file, tt.reason)
				}
			}
			if builds != 1 {
				t.Errorf("%d build nodes, want 1: %+v", builds, g.Nodes)
			}
		})
	}
	// The identity flags are verify's: a half-given identity is wrong usage.
	r := in.Run(dir, "graph", "--certificate-identity", keylessWho, rep.StagingURL)
	if line := errorLine(t, r); r.Code != 2 || !strings.Contains(line, "no issuer") {
		t.Errorf("an identity without an issuer: exit %d, %q", r.Code, line)
	}
}
