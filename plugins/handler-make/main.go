// Command mmbuild-plugin-make is the mmbuild handler plugin that runs make.
package main

import (
	"github.com/mmbuild/mmbuild/sdk/plugin"

	"github.com/mmbuild/mmbuild/plugins/handler-make/makehandler"
)

// version is what the plugin reports; set it with -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	plugin.Serve(
		plugin.WithName("make"),
		plugin.WithVersion(version),
		plugin.WithHandler("make", makehandler.New()),
	)
}
