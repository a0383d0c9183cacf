// Command mmbuild-plugin-sbom-syft is the SBOM cataloger "sbom:syft": it
// reports the files inside tar, tar.gz and zip artifacts and the packages
// syft finds in them (the Go modules of Go binaries, npm, deb, …).
package main

import (
	"os"

	"github.com/mmbuild/mmbuild/plugins/sbom-syft/syftcat"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	// The license scanner takes ~0.3 s of CPU to build: started by the core
	// (no arguments), the plugin starts with the run, so building it now
	// overlaps the build it will catalogue. Run as `describe` or
	// `--version`, it answers at once instead.
	if len(os.Args) == 1 {
		go syftcat.Prewarm()
	}
	plugin.Serve(
		plugin.WithName("sbom-syft"),
		plugin.WithVersion(version),
		plugin.WithCataloger("syft", syftcat.New()),
	)
}
