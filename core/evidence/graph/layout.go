package graph

import (
	"fmt"
	"sort"
	"unicode/utf8"
)

// The layout's measures, in SVG user units (px).
const (
	charWidth  = 7.2 // 12px monospace
	lineHeight = 16.0
	padX, padY = 12.0, 10.0
	gapX, gapY = 110.0, 26.0
	margin     = 20.0
	minWidth   = 160.0
)

// box is where a node is drawn.
type box struct {
	X, Y, W, H float64
	Lines      []string
}

// placed is a laid-out graph.
type placed struct {
	W, H  float64
	Boxes map[string]box
}

// layout places the nodes in columns, left to right: a node's column is
// the longest path to it from a node without inputs (so every edge of an
// acyclic graph points right), and within a column nodes are ordered by
// the mean row of their inputs (barycentric ordering), which keeps a
// pipeline's chains straight. A cycle, which only a hostile or broken set
// of attestations draws, is cut after len(nodes) rounds: ranks stay finite.
func layout(g *Graph) placed {
	cols := columns(g)
	orderColumns(g, cols)
	return place(g, cols)
}

// columns puts each node in the column of its rank: the longest path to
// it, cut after len(nodes) rounds.
func columns(g *Graph) [][]string {
	n := len(g.Nodes)
	rank := map[string]int{}
	for round := 0; round < n; round++ {
		changed := false
		for _, e := range g.Edges {
			if r := rank[e.From] + 1; r > rank[e.To] && r < n {
				rank[e.To], changed = r, true
			}
		}
		if !changed {
			break
		}
	}
	var cols [][]string
	for _, nd := range g.Nodes {
		r := rank[nd.ID]
		for len(cols) <= r {
			cols = append(cols, nil)
		}
		cols[r] = append(cols[r], nd.ID)
	}
	return cols
}

// orderColumns orders each column by the mean row of its nodes' inputs,
// in a few sweeps left to right.
func orderColumns(g *Graph, cols [][]string) {
	row := map[string]float64{}
	for _, c := range cols {
		for i, id := range c {
			row[id] = float64(i)
		}
	}
	preds := map[string][]string{}
	for _, e := range g.Edges {
		preds[e.To] = append(preds[e.To], e.From)
	}
	for sweep := 0; sweep < 4; sweep++ {
		for ci := 1; ci < len(cols); ci++ {
			c := cols[ci]
			bary := map[string]float64{}
			for _, id := range c {
				bary[id] = row[id]
				if ps := preds[id]; len(ps) > 0 {
					sum := 0.0
					for _, p := range ps {
						sum += row[p]
					}
					bary[id] = sum / float64(len(ps))
				}
			}
			sort.SliceStable(c, func(a, b int) bool { return bary[c[a]] < bary[c[b]] })
			for i, id := range c {
				row[id] = float64(i)
			}
		}
	}
}

// place gives every node its box: columns left to right, each as wide as
// its widest label and centred vertically.
func place(g *Graph, cols [][]string) placed {
	nodes := map[string]Node{}
	for _, nd := range g.Nodes {
		nodes[nd.ID] = nd
	}
	p := placed{Boxes: map[string]box{}}
	x := margin
	heights := make([]float64, len(cols))
	for ci, c := range cols {
		w := minWidth
		for _, id := range c {
			for _, l := range nodes[id].lines() {
				w = max(w, float64(utf8.RuneCountInString(l))*charWidth+2*padX)
			}
		}
		y := margin
		for _, id := range c {
			lines := nodes[id].lines()
			h := float64(len(lines))*lineHeight + 2*padY
			p.Boxes[id] = box{X: x, Y: y, W: w, H: h, Lines: lines}
			y += h + gapY
		}
		heights[ci] = y - gapY + margin
		p.H = max(p.H, heights[ci])
		x += w + gapX
	}
	p.W = x - gapX + margin
	// Centre each column vertically.
	for ci, c := range cols {
		off := (p.H - heights[ci]) / 2
		for _, id := range c {
			b := p.Boxes[id]
			b.Y += off
			p.Boxes[id] = b
		}
	}
	return p
}

// edgePath is a curve from the right side of a to the left side of b.
func edgePath(a, b box) (d string, midX, midY float64) {
	x1, y1 := a.X+a.W, a.Y+a.H/2
	x2, y2 := b.X, b.Y+b.H/2
	dx := max(40, (x2-x1)/2)
	d = fmt.Sprintf("M%.1f %.1f C%.1f %.1f, %.1f %.1f, %.1f %.1f", x1, y1, x1+dx, y1, x2-dx, y2, x2, y2)
	return d, (x1 + x2) / 2, (y1+y2)/2 - 4
}
