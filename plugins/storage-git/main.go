// Command mmbuild-plugin-git is the read-only storage plugin for git
// repositories: git+https://, git+http:// and git+file:// URLs.
package main

import (
	"github.com/mmbuild/mmbuild/plugins/storage-git/internal/gitstore"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	s := gitstore.New()
	plugin.Serve(
		plugin.WithName("git"),
		plugin.WithVersion(version),
		plugin.WithStorage("git+https", s),
		plugin.WithStorage("git+http", s),
		plugin.WithStorage("git+file", s),
	)
}
