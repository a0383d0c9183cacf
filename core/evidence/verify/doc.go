// Package verify checks an attestation against artifacts and expectations
// and reports every check by name: what `mmbuild verify` prints and what
// replay and upstream materials rely on before trusting a statement.
package verify
