// Package sbom writes the SPDX 2.3 JSON document of a build's artifacts,
// deterministically, and the in-toto statement that attests it.
package sbom
