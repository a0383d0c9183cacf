// Package sdk is the public plugin SDK of mmbuild: see the handler, storage
// and plugin packages, and sdktest for the conformance suites.
package sdk
