// Command mmbuild-plugin-file is the storage plugin for file:// URLs.
package main

import (
	"github.com/mmbuild/mmbuild/plugins/storage-file/filestore"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	plugin.Serve(
		plugin.WithName("file"),
		plugin.WithVersion(version),
		plugin.WithStorage("file", filestore.New()),
	)
}
