// Package provenance builds the provenance statement of a build,
// deterministically, in either format (Format): in-toto Statement v0.1 with
// the SLSA v0.2 predicate (the default) or Statement v1 with SLSA v1; and
// reads both back into one model (Record).
//
// The model is typed: Build is what a statement records, BuildConfig
// mmbuild's own facts, RunFacts the per-run facts. The determinism rule:
// two builds of the same inputs give the same bytes, apart from exactly
// the fields of RunFacts (builder id, invocation id, start and finish
// times, the CI job).
package provenance
