// Package sdk is the public plugin SDK of mmbuild: see the handler, storage,
// sbom and plugin packages, sdktest for the conformance suites, and
// safepath, progress and redact for the plugin kit.
package sdk
