package graph

import (
	"encoding/json"
	"fmt"
	"io"
)

// Formats are the output formats Render knows.
var Formats = []string{"mermaid", "dot", "html", "json"}

// Render writes g in format (one of Formats); title names the HTML page.
func Render(w io.Writer, g *Graph, format, title string) error {
	switch format {
	case "mermaid":
		return Mermaid(w, g)
	case "dot":
		return DOT(w, g)
	case "html":
		return HTML(w, g, title)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(g)
	}
	return fmt.Errorf("unknown format %q (want one of %v)", format, Formats)
}
