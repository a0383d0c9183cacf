package graph

import (
	"fmt"
	"io"
	"strings"
)

// Mermaid writes the graph as a Mermaid flowchart, left to right, as
// GitHub and GitLab render it in Markdown: ids are the graph's own, every
// label is quoted and every character outside a small safe set is written
// as a Mermaid entity code (#35; for #), so no name from an attestation
// can close a label, start a comment or inject HTML.
func Mermaid(w io.Writer, g *Graph) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, n := range g.Nodes {
		open, close := mermaidShape(n.Kind)
		fmt.Fprintf(&b, "  %s%s\"%s\"%s\n", n.ID, open, mermaidText(n.lines()), close)
	}
	for _, e := range g.Edges {
		if e.Digest == "" {
			fmt.Fprintf(&b, "  %s --> %s\n", e.From, e.To)
			continue
		}
		fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", e.From, mermaidText([]string{ShortDigest(e.Digest)}), e.To)
	}
	b.WriteString("  classDef verified fill:#d9f2d9,stroke:#2e7d32,stroke-width:2px\n")
	b.WriteString("  classDef unverified fill:#fff4d6,stroke:#b7791f,stroke-dasharray:4 3\n")
	b.WriteString("  classDef failed fill:#fde2e2,stroke:#c62828,stroke-width:3px\n")
	for _, s := range []Status{Verified, Unverified, Failed} {
		var ids []string
		for _, n := range g.Nodes {
			if n.Status == s {
				ids = append(ids, n.ID)
			}
		}
		if len(ids) > 0 {
			fmt.Fprintf(&b, "  class %s %s\n", strings.Join(ids, ","), s)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// lines are what a node shows: its label, its status, its details.
func (n Node) lines() []string {
	out := []string{string(n.Kind) + ": " + n.Label}
	if n.Status != "" {
		out = append(out, strings.ToUpper(string(n.Status)))
	}
	return append(out, n.Details...)
}

// mermaidShape is the node shape of each kind.
func mermaidShape(k Kind) (string, string) {
	switch k {
	case Build:
		return "[", "]"
	case Source:
		return "[(", ")]"
	case SBOM, VSA, Other:
		return "[/", "/]"
	case Image:
		return "[[", "]]"
	}
	return "(", ")"
}

// mermaidText joins lines with <br/> (Mermaid's line break), each line
// escaped: letters, digits, space and . : / @ _ + - = , are kept, every
// other character becomes #<code>; which Mermaid turns back into that
// character as text.
func mermaidText(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteString("<br/>")
		}
		for _, r := range l {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(" .:/@_+-=,", r):
				b.WriteRune(r)
			default:
				fmt.Fprintf(&b, "#%d;", r)
			}
		}
	}
	return b.String()
}
