// Package verify checks an attestation against artifacts and expectations
// and reports every check by name: what `mmbuild verify` prints. It opens
// the attestation with package attestation, as replay and the upstream
// check of materials do.
package verify
