// Command mmbuild-plugin-oci is the storage plugin for oci:// URLs: files
// and trees kept as OCI artifacts in a registry, images fetched as OCI
// image layouts.
package main

import (
	"os"

	"github.com/mmbuild/mmbuild/plugins/storage-oci/internal/ocistore"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

// EnvDockerConfig names the docker config folder to read registry accounts
// from: the core hands a plugin MMBUILD_* variables, not DOCKER_CONFIG.
const EnvDockerConfig = "MMBUILD_OCI_DOCKER_CONFIG"

func main() {
	if dir := os.Getenv(EnvDockerConfig); dir != "" {
		os.Setenv("DOCKER_CONFIG", dir) // where go-containerregistry's keychain looks
	}
	store := ocistore.New(ocistore.WithUserAgent("mmbuild-plugin-oci/" + version))
	plugin.Serve(plugin.WithName("oci"), plugin.WithVersion(version), plugin.WithStorage("oci", store))
}
