// Package lockfile reads and writes mmbuild.lock.hcl, which pins every
// plugin's version and the sha256 of its binary, per platform.
package lockfile
