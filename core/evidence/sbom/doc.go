// Package sbom writes the SBOMs of a build — SPDX 2.3 and CycloneDX 1.6
// JSON, through the formats' own libraries — from what the core knows (the
// artifacts it hashed, the source, the materials it verified, the tools)
// and what a cataloger plugin found inside the artifacts; deterministically
// under SOURCE_DATE_EPOCH; and the in-toto statements that attest them.
package sbom
