// Command mmbuild-plugin-s3 is the storage plugin for s3:// URLs.
package main

import (
	"fmt"
	"os"

	"github.com/mmbuild/mmbuild/plugins/storage-s3/internal/s3store"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

func main() {
	store, err := s3store.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmbuild-plugin-s3:", err)
		os.Exit(1)
	}
	// Started by the core (without arguments: not describe or version),
	// the plugin builds its S3 clients while it hand-shakes, not at its
	// first call, which a cache hit waits for.
	if len(os.Args) == 1 {
		go store.Warm()
	}
	plugin.Serve(plugin.WithName("s3"), plugin.WithVersion(version), plugin.WithStorage("s3", store))
}
