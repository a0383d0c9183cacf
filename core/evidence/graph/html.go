package graph

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

// HTML writes a self-contained page: the graph as inline SVG laid out by
// layout, a legend and a table of every node. Nothing is fetched (a
// Content-Security-Policy of default-src 'none' says so to the browser,
// and there is no script); html/template escapes every name for the
// context it lands in.
func HTML(w io.Writer, g *Graph, title string) error {
	p := layout(g)
	page := htmlPage{Title: title, W: p.W, H: p.H}
	for _, n := range g.Nodes {
		b := p.Boxes[n.ID]
		fill, line := statusColors(n.Status)
		hn := htmlNode{Node: n, X: b.X, Y: b.Y, W: b.W, H: b.H, Fill: fill, Line: line, Dash: n.Status == Unverified}
		for i, l := range b.Lines {
			hn.Lines = append(hn.Lines, htmlLine{Text: l, X: b.X + padX, Y: b.Y + padY + float64(i+1)*lineHeight - 4, First: i == 0})
		}
		page.Nodes = append(page.Nodes, hn)
	}
	for _, e := range g.Edges {
		d, mx, my := edgePath(p.Boxes[e.From], p.Boxes[e.To])
		page.Edges = append(page.Edges, htmlEdge{Edge: e, D: d, X: mx, Y: my, Short: ShortDigest(e.Digest)})
	}
	if err := pageTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("writing the HTML page: %w", err)
	}
	return nil
}

type htmlPage struct {
	Title string
	W, H  float64
	Nodes []htmlNode
	Edges []htmlEdge
}

type htmlNode struct {
	Node
	X, Y, W, H float64
	Fill, Line string
	Dash       bool
	Lines      []htmlLine
}

type htmlLine struct {
	Text  string
	X, Y  float64
	First bool
}

type htmlEdge struct {
	Edge
	D     string
	X, Y  float64
	Short string
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"f":     func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"upper": func(s Status) string { return strings.ToUpper(string(s)) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 16px; color: #1f2933; background: #fff; }
h1 { font-size: 18px; margin: 0 0 8px; }
.legend span { display: inline-block; margin-right: 14px; padding: 2px 8px; border: 2px solid; border-radius: 4px; font-size: 12px; }
.graph { overflow: auto; border: 1px solid #d0d7de; border-radius: 6px; margin: 10px 0; }
svg text { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; fill: #1f2933; }
svg text.first { font-weight: bold; }
svg .edge path { fill: none; stroke: #5b6b7f; stroke-width: 1.4; }
svg .edge text { font-size: 10px; fill: #3e4c59; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
table { border-collapse: collapse; font-size: 12px; }
td, th { border: 1px solid #d0d7de; padding: 3px 6px; text-align: left; vertical-align: top; }
td.verified { background: #d9f2d9; } td.unverified { background: #fff4d6; } td.failed { background: #fde2e2; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<div class="legend"><span style="border-color:#2e7d32;background:#d9f2d9">verified</span><span style="border-color:#b7791f;background:#fff4d6;border-style:dashed">unverified (no key or identity given)</span><span style="border-color:#c62828;background:#fde2e2">failed</span><span style="border-color:#5b6b7f;background:#eef2f7">source, material, artifact, image</span></div>
<div class="graph">
<svg xmlns="http://www.w3.org/2000/svg" width="{{f .W}}" height="{{f .H}}" style="max-width:100%;height:auto" viewBox="0 0 {{f .W}} {{f .H}}" role="img">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#5b6b7f"/></marker></defs>
{{range .Edges}}<g class="edge" data-from="{{.From}}" data-to="{{.To}}"><title>{{.Digest}}</title><path d="{{.D}}" marker-end="url(#arrow)"/>{{if .Short}}<text x="{{f .X}}" y="{{f .Y}}" text-anchor="middle">{{.Short}}</text>{{end}}</g>
{{end}}{{range .Nodes}}<g class="node {{.Kind}}" id="{{.ID}}" data-kind="{{.Kind}}" data-status="{{.Status}}"><title>{{.Label}}{{if .Reason}}: {{.Reason}}{{end}}</title><rect x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}" rx="6" fill="{{.Fill}}" stroke="{{.Line}}" stroke-width="{{if eq .Status "failed"}}3{{else}}1.5{{end}}"{{if .Dash}} stroke-dasharray="5 3"{{end}}/>{{range .Lines}}<text x="{{f .X}}" y="{{f .Y}}"{{if .First}} class="first"{{end}}>{{.Text}}</text>{{end}}</g>
{{end}}</svg>
</div>
<table>
<tr><th>node</th><th>kind</th><th>name</th><th>status</th><th>details</th><th>also named</th><th>attestation</th></tr>
{{range .Nodes}}<tr data-node="{{.ID}}"><td>{{.ID}}</td><td>{{.Kind}}</td><td>{{.Label}}</td><td{{if .Status}} class="{{.Status}}"{{end}}>{{upper .Status}}{{if .Reason}}: {{.Reason}}{{end}}</td><td>{{range $i, $d := .Details}}{{if $i}}<br>{{end}}{{$d}}{{end}}</td><td>{{range $i, $a := .Aliases}}{{if $i}}<br>{{end}}{{$a}}{{end}}</td><td>{{.File}}</td></tr>
{{end}}</table>
</body>
</html>
`))
