// Package isolation is the box the builder runs in. The build is untrusted
// input: the handler plugin and everything it starts see the work tree, the
// materials (read-only), the system (read-only), a private /tmp and HOME and
// their own processes — and nothing of the core: no signing key, no secret
// the config did not hand them, no other plugin's socket, no network unless
// asked for. What a box actually applied is recorded in the provenance.
package isolation
