package summary

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/graph"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
)

// WritePipelineMarkdown writes the supply chain of a pipeline's builds as
// a Mermaid block under a heading: one graph of their attestations (each
// build's signed bundle, else its statement), where an artifact of one
// build that the next one used is one node. verifiers mark the builds
// verified; without them they are unverified.
func WritePipelineMarkdown(w io.Writer, attestations []string, verifiers []signing.Verifier) error {
	files := make([]graph.File, 0, len(attestations))
	for _, p := range attestations {
		data, err := attestation.ReadFile(p)
		if err != nil {
			return fmt.Errorf("reading attestation %s: %w", p, err)
		}
		files = append(files, graph.File{Name: p, Data: data})
	}
	// Local files only: nothing here waits, so no context is threaded.
	g, err := graph.New(context.Background(), files, verify.Options{Keys: verifiers})
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("### mmbuild pipeline\n\n")
	if err := writeGraph(&b, g); err != nil {
		return err
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// writeGraph writes g as a mermaid code block, which GitHub and GitLab
// draw; Mermaid's escaping leaves no backquote that could end the block.
func writeGraph(b *strings.Builder, g *graph.Graph) error {
	b.WriteString("```mermaid\n")
	if err := graph.Mermaid(b, g); err != nil {
		return err
	}
	b.WriteString("```\n")
	return nil
}
