// Command mmbuild-plugin-sbom-syft is the SBOM cataloger "sbom:syft": it
// reports the files inside tar, tar.gz and zip artifacts and the packages
// syft finds in them (the Go modules of Go binaries, npm, deb, …).
package main

import (
	"github.com/mmbuild/mmbuild/plugins/sbom-syft/syftcat"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	// The license scanner takes ~0.3 s to build: the plugin starts with the
	// run, so building it now overlaps the build it will catalogue.
	go syftcat.Prewarm()
	plugin.Serve(
		plugin.WithName("sbom-syft"),
		plugin.WithVersion(version),
		plugin.WithCataloger("syft", syftcat.New()),
	)
}
