package gitstore

import (
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

// seedRepo is a repository for sdktest.Storage with ReadOnly: the suite's
// URLs are base+rel with base "git+<repo>//", so each fixture is committed
// at rel on the default branch, and the URL without "@rev" names it at HEAD.
func seedRepo(t *testing.T) (*testservers.GitRepo, func(testing.TB, string, string)) {
	r := testservers.NewGitRepo(t, map[string]string{"README": "fixtures of sdktest.Storage\n"})
	return r, func(t testing.TB, rel, src string) {
		r.CopyIn(rel, src)
		r.Commit(nil)
	}
}

// TestConformance runs the SDK's storage suite over the wire, in-process,
// against a repository read in place and one served over smart HTTP.
func TestConformance(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("git"),
		plugin.WithStorage("git+file", New()), plugin.WithStorage("git+http", New()))
	for _, tr := range vias {
		t.Run(tr.name, func(t *testing.T) {
			r, seed := seedRepo(t)
			sdktest.Storage(t, conn.Storage(), tr.url(t, r)+"//", sdktest.ReadOnly(seed))
		})
	}
}
