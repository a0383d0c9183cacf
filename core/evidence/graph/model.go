package graph

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is what a node stands for.
type Kind string

// The kinds of node.
const (
	Source   Kind = "source"   // a repository at a commit
	Material Kind = "material" // an input of a build no statement produced
	Build    Kind = "build"    // one provenance statement
	Artifact Kind = "artifact" // a subject of a provenance statement
	Image    Kind = "image"    // a subject that is a container image
	SBOM     Kind = "sbom"     // an SBOM statement
	VSA      Kind = "vsa"      // a verification summary
	Other    Kind = "statement"
)

// Status is how a statement's node stands against the keys or policy
// given; resources (sources, materials, artifacts, images) have none.
type Status string

// The statuses.
const (
	Verified   Status = "verified"   // every check passed and the signature verified
	Unverified Status = "unverified" // no check failed but no key was given
	Failed     Status = "failed"     // a check failed (Reason says which)
)

// Node is one node of the graph. Its ID is the graph's own (n1, n2, …),
// safe in every output syntax; Label and Details come from the
// attestations and are untrusted.
type Node struct {
	ID    string `json:"id"`
	Kind  Kind   `json:"kind"`
	Label string `json:"label"`
	// Details are further lines: a build's handler and staging key.
	Details []string `json:"details,omitempty"`
	// Aliases are the other names a resource goes by (a material's URI
	// when a build produced it under another name): listed in the HTML
	// page's table, not drawn.
	Aliases []string `json:"aliases,omitempty"`
	// File is the attestation a statement came from (and its envelope's
	// place in a bundle).
	File   string `json:"file,omitempty"`
	Status Status `json:"status,omitempty"`
	// Reason says why a statement is failed or unverified.
	Reason string `json:"reason,omitempty"`
}

// Edge joins two nodes by the digest both ends record ("sha256:<hex>").
type Edge struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Digest string `json:"digest"`
}

// Graph is nodes in a stable order (by kind, then label) and the edges
// between them, sorted.
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Node returns the node with that id.
func (g *Graph) Node(id string) (*Node, bool) {
	for i := range g.Nodes {
		if g.Nodes[i].ID == id {
			return &g.Nodes[i], true
		}
	}
	return nil, false
}

// maxLabel bounds a label in runes: a hostile name of a megabyte would
// otherwise become a megabyte in every output. The full text is kept in
// Details when it is cut.
const maxLabel = 80

// clean makes untrusted text one printable line: control characters
// (newlines included) become spaces.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// short cuts s to maxLabel runes.
func short(s string) string {
	if utf8.RuneCountInString(s) <= maxLabel {
		return s
	}
	r := []rune(s)
	return string(r[:maxLabel-1]) + "…"
}

// ShortDigest is how renderers print a digest: algorithm and 12 hex digits.
func ShortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return alg + ":" + hex[:12]
}

var kindOrder = map[Kind]int{Source: 0, Material: 1, Build: 2, Artifact: 3, Image: 4, SBOM: 5, VSA: 6, Other: 7}

// finish sorts nodes and edges and gives nodes their ids.
func (g *Graph) finish(keys []string) {
	idx := make([]int, len(g.Nodes))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		na, nb := g.Nodes[idx[a]], g.Nodes[idx[b]]
		if kindOrder[na.Kind] != kindOrder[nb.Kind] {
			return kindOrder[na.Kind] < kindOrder[nb.Kind]
		}
		if na.Label != nb.Label {
			return na.Label < nb.Label
		}
		return keys[idx[a]] < keys[idx[b]]
	})
	rename := map[string]string{}
	nodes := make([]Node, len(g.Nodes))
	for i, j := range idx {
		n := g.Nodes[j]
		id := "n" + strconv.Itoa(i+1)
		rename[n.ID] = id
		n.ID = id
		nodes[i] = n
	}
	g.Nodes = nodes
	for i := range g.Edges {
		g.Edges[i].From, g.Edges[i].To = rename[g.Edges[i].From], rename[g.Edges[i].To]
	}
	sort.Slice(g.Edges, func(a, b int) bool {
		ea, eb := g.Edges[a], g.Edges[b]
		if ea.From != eb.From {
			return idNum(ea.From) < idNum(eb.From)
		}
		if ea.To != eb.To {
			return idNum(ea.To) < idNum(eb.To)
		}
		return ea.Digest < eb.Digest
	})
}

func idNum(id string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "n"))
	return n
}
