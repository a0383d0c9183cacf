// Package attestation opens an attestation (an in-toto statement, a DSSE
// envelope or an .intoto.jsonl bundle) as untrusted input: bounded in size
// and JSON depth, strictly decoded, and each statement's signatures checked
// against the keys given.
package attestation
