// Package graph draws the supply chain that a set of attestations records:
// sources, materials, builds, artifacts, images, SBOMs and VSAs, each edge
// carrying the digest that joins its ends, each build marked verified,
// unverified or failed the way `mmbuild verify` checks it. An artifact of
// one build that is a material of another is one node: that is how a
// pipeline appears.
//
// It renders the graph as Mermaid (for CI job summaries), Graphviz DOT, and
// a self-contained HTML page with an inline SVG. The page's layout is done
// here (layout.go), not by a library: the graphs are small directed graphs
// of a few dozen nodes, a layered layout (longest-path ranks, barycentric
// ordering) is a hundred lines, deterministic and dependency-free, while the
// well-kept alternative, Graphviz compiled to WASM (goccy/go-graphviz), would
// add a WebAssembly runtime and megabytes to the binary for the same
// picture. Anyone who wants Graphviz's layout runs `dot` on --format dot.
//
// Every name in an attestation is untrusted: each renderer escapes all of
// it for its own syntax, and node ids are the graph's own (n1, n2, …),
// never derived from a name.
package graph
