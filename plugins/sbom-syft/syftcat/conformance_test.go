package syftcat

import (
	"testing"

	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

// TestConformance runs the SDK's cataloger suite against syft through the
// plugin protocol (see viaProtocol).
func TestConformance(t *testing.T) {
	for via, cat := range viaProtocol(t) {
		t.Run(via, func(t *testing.T) {
			sdktest.Cataloger(t, cat, sdktest.CatalogerCases{
				CatalogerID: "syft",
				Artifact: func(t testing.TB, dir string) string {
					path, _ := helloFixture(t.(*testing.T), dir, true)
					return path
				},
				WantPackages: []string{"golang.org/x/text", "left-pad"},
				WantFiles:    []string{"bin/hello", "web/package-lock.json"},
			})
		})
	}
}
