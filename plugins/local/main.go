// Command mmbuild-plugin-local bundles the two plugins of a local build,
// the make handler and the file:// storage, in one binary (sdk ServeBundle).
// It is installed twice, as mmbuild-plugin-make and mmbuild-plugin-file;
// each name describes, pins and records its own plugin, and a run that uses
// both starts one process instead of two. Each plugin also builds alone
// from its own module (plugins/handler-make, plugins/storage-file).
package main

import (
	"github.com/mmbuild/mmbuild/plugins/handler-make/makehandler"
	"github.com/mmbuild/mmbuild/plugins/storage-file/filestore"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// version is what both plugins report; set it with -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	plugin.ServeBundle(
		[]plugin.Option{plugin.WithName("make"), plugin.WithVersion(version), plugin.WithHandler("make", makehandler.New())},
		[]plugin.Option{plugin.WithName("file"), plugin.WithVersion(version), plugin.WithStorage("file", filestore.New())},
	)
}
