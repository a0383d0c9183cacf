// Package testservers starts real servers on loopback for tests: an
// S3-compatible server, HTTP file servers with failure modes, git over
// smart HTTP, an OCI registry (and crane to make images in it), a local
// Sigstore instance (StartSigstore: an OIDC issuer, Fulcio, Rekor v2 and a
// timestamp authority, with its trusted root and signing configuration) and
// local-kms behind TLS for awskms:// keys (StartLocalKMS). It is its
// own module with no dependencies beyond the standard library, so every
// plugin module can use it in its tests; each helper lives here once and is
// reused.
package testservers
