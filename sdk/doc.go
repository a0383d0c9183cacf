// Package sdk is the public plugin SDK of mmbuild: see the handler, storage,
// sbom and plugin packages, sdktest for the conformance suites, and
// safepath, progress and redact for the plugin kit. Package host is the
// host's side (the core's), which plugin authors need not import.
package sdk
