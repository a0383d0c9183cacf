package graph

import (
	"fmt"
	"io"
	"strings"
)

// DOT writes the graph in Graphviz's DOT language, left to right. Every
// label is a quoted string with backslashes and quotes escaped, so a name
// can neither end the string nor use DOT's \N, \G or \l escapes.
func DOT(w io.Writer, g *Graph) error {
	var b strings.Builder
	b.WriteString("digraph supplychain {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n")
	for _, n := range g.Nodes {
		shape, style := dotShape(n.Kind), "filled"
		fill, pen := statusColors(n.Status)
		if n.Status == Unverified {
			style = "filled,dashed"
		}
		fmt.Fprintf(&b, "  %s [label=%s, shape=%s, style=%q, fillcolor=%q, color=%q];\n",
			n.ID, dotString(strings.Join(n.lines(), "\n")), shape, style, fill, pen)
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", e.From, e.To, dotString(ShortDigest(e.Digest)))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dotShape(k Kind) string {
	switch k {
	case Build:
		return "box"
	case Source:
		return "cylinder"
	case SBOM, VSA, Other:
		return "note"
	case Image:
		return "box3d"
	}
	return "ellipse"
}

// statusColors are the fill and line colours of a status, shared by DOT
// and the HTML page.
func statusColors(s Status) (fill, line string) {
	switch s {
	case Verified:
		return "#d9f2d9", "#2e7d32"
	case Unverified:
		return "#fff4d6", "#b7791f"
	case Failed:
		return "#fde2e2", "#c62828"
	}
	return "#eef2f7", "#5b6b7f"
}

// dotString quotes s as a DOT string: \ and " escaped, a line break (the
// graph's own, between lines) as \n.
func dotString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
