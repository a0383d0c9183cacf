// Package e2e holds the end-to-end tests: the real mmbuild and plugin
// binaries, installed as `make install` lays them out, driven through the
// CLI on real projects — discovery, the lock file and the checksum check
// included.
package e2e
