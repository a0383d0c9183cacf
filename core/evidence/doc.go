// Package evidence assembles the evidence of a build from plain values:
// the provenance statement, its signed forms (DSSE envelope in an
// .intoto.jsonl bundle, Sigstore bundle v0.3), the SBOMs and their
// statements, each with the file name it is published and kept under.
// mmbuild run, mmbuild replay and mmbuild attest all go through Assemble
// (or Sign, for a statement of their own such as a replay's VSA), so that
// what one writes the others and every verifier read alike.
package evidence
