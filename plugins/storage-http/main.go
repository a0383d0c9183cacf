// Command mmbuild-plugin-http is the storage plugin for http:// and https://
// URLs.
package main

import (
	"github.com/mmbuild/mmbuild/plugins/storage-http/internal/httpstore"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	store := httpstore.New(httpstore.WithUserAgent("mmbuild-plugin-http/" + version))
	plugin.Serve(
		plugin.WithName("http"),
		plugin.WithVersion(version),
		plugin.WithStorage("http", store),
		plugin.WithStorage("https", store),
	)
}
