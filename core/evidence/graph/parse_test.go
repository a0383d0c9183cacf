package graph

import (
	"fmt"
	"regexp"
	"strings"
)

// Strict parsers of the subsets of Mermaid and DOT that the renderers
// write: a line that is not one of the forms below is an error, so an
// escape that lets a name break out of its label is caught even where no
// Mermaid CLI or Graphviz is installed (the e2e test runs the Mermaid CLI).
var (
	mermaidSubset = `(?:[A-Za-z0-9 .:/@_+=,-]|#[0-9]+;|<br/>)*`
	mermaidNode   = regexp.MustCompile(`^  (n[0-9]+)(?:\["|\[\("|\[/"|\[\["|\(")` + mermaidSubset + `(?:"\]|"\)\]|"/\]|"\]\]|"\))$`)
	mermaidEdge   = regexp.MustCompile(`^  (n[0-9]+) -->(?:\|"` + mermaidSubset + `"\|)? (n[0-9]+)$`)
	mermaidClass  = regexp.MustCompile(`^  (?:classDef (?:verified|unverified|failed) [a-z0-9#:,. -]+|class n[0-9]+(?:,n[0-9]+)* (?:verified|unverified|failed))$`)

	dotQuoted = `"(?:[^"\\\n]|\\["\\n])*"`
	dotNode   = regexp.MustCompile(`^  (n[0-9]+) \[label=` + dotQuoted + `, shape=[a-z0-9]+, style="[a-z,]+", fillcolor="#[0-9a-f]{6}", color="#[0-9a-f]{6}"\];$`)
	dotEdge   = regexp.MustCompile(`^  (n[0-9]+) -> (n[0-9]+) \[label=` + dotQuoted + `\];$`)
	dotHeader = []string{"digraph supplychain {", "  rankdir=LR;", `  node [fontname="Helvetica", fontsize=11];`, `  edge [fontname="Helvetica", fontsize=9];`}
)

// checkMermaid parses out, which must hold nodes nodes and edges edges
// between declared nodes.
func checkMermaid(out string, nodes, edges int) error {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "flowchart LR" {
		return fmt.Errorf("line 1: %q, want flowchart LR", lines[0])
	}
	declared := map[string]bool{}
	ne := 0
	for i, l := range lines[1:] {
		switch {
		case mermaidNode.MatchString(l):
			declared[mermaidNode.FindStringSubmatch(l)[1]] = true
		case mermaidEdge.MatchString(l):
			m := mermaidEdge.FindStringSubmatch(l)
			if !declared[m[1]] || !declared[m[2]] {
				return fmt.Errorf("line %d: edge between undeclared nodes: %q", i+2, l)
			}
			ne++
		case mermaidClass.MatchString(l):
		default:
			return fmt.Errorf("line %d: not Mermaid of the subset: %q", i+2, l)
		}
	}
	if len(declared) != nodes || ne != edges {
		return fmt.Errorf("%d nodes and %d edges, want %d and %d", len(declared), ne, nodes, edges)
	}
	return nil
}

// checkDOT parses out as checkMermaid does.
func checkDOT(out string, nodes, edges int) error {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < len(dotHeader)+1 || strings.Join(lines[:len(dotHeader)], "\n") != strings.Join(dotHeader, "\n") || lines[len(lines)-1] != "}" {
		return fmt.Errorf("not the DOT header and footer")
	}
	declared := map[string]bool{}
	ne := 0
	for i, l := range lines[len(dotHeader) : len(lines)-1] {
		switch {
		case dotNode.MatchString(l):
			declared[dotNode.FindStringSubmatch(l)[1]] = true
		case dotEdge.MatchString(l):
			m := dotEdge.FindStringSubmatch(l)
			if !declared[m[1]] || !declared[m[2]] {
				return fmt.Errorf("line %d: edge between undeclared nodes: %q", i+len(dotHeader)+1, l)
			}
			ne++
		default:
			return fmt.Errorf("line %d: not DOT of the subset: %q", i+len(dotHeader)+1, l)
		}
	}
	if len(declared) != nodes || ne != edges {
		return fmt.Errorf("%d nodes and %d edges, want %d and %d", len(declared), ne, nodes, edges)
	}
	return nil
}
