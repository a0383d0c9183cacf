// Package signing signs in-toto statements as DSSE envelopes and verifies
// them: keys in PEM files (ECDSA P-256, Ed25519, RSA), envelopes, and the
// .intoto.jsonl bundle format, which it reads as untrusted input.
//
// Keys are PEM: private keys PKCS#8 ("PRIVATE KEY"; SEC 1 "EC PRIVATE KEY"
// and PKCS#1 "RSA PRIVATE KEY" are read too), public keys PKIX ("PUBLIC
// KEY"), the format `cosign verify-blob-attestation --key` reads. Signature
// schemes: ECDSA P-256 with SHA-256, ASN.1 DER encoded (what cosign
// expects); Ed25519 (pure); RSASSA-PSS with SHA-256 and a 32-byte salt
// (securesystemslib's rsassa-pss-sha256). cosign verifies the ECDSA and
// Ed25519 envelopes made here (`cosign verify-blob-attestation --key PUB
// --type slsaprovenance02 --insecure-ignore-tlog --signature BUNDLE BLOB`);
// for RSA keys it expects PKCS#1 v1.5, so RSA envelopes verify with mmbuild
// only.
//
// A key id is the lower-case hex sha256 of the public key's PKIX DER
// encoding — `openssl pkey -pubin -in KEY.pub -outform DER | sha256sum`.
// Signatures carry it as their keyid, but verification treats it as a hint
// only: every signature is tried against every key given.
package signing
