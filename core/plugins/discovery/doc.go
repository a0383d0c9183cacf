// Package discovery finds plugin binaries (mmbuild-plugin-<name>) along the
// plugin search path, and hashes them.
package discovery
