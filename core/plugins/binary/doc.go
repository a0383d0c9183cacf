// Package binary makes the bytes that were verified the bytes that run: a
// plugin binary is refused when anyone but the user or root could change it
// (the file or any folder above it), opened once, hashed through that open
// descriptor (with a cache keyed by what a non-root user cannot keep
// unchanged while changing the file), and executed through the same
// descriptor, so swapping the path between the check and the exec changes
// nothing.
//
// Threat model: the user running mmbuild and root are trusted; nobody else
// may change what runs. Another user who can write the plugin's folder could
// replace the file between any check on its path and its execution; that is
// why such folders are refused and the path is never executed.
package binary
