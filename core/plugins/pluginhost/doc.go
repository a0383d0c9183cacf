// Package pluginhost starts plugin binaries for a run: each one only after
// its sha256 matches the lock file (go-plugin's SecureConfig), with a minimal
// environment, killed with mmbuild.
package pluginhost
