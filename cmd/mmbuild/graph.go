package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/outfile"
	"github.com/mmbuild/mmbuild/core/evidence/graph"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
	"github.com/mmbuild/mmbuild/core/plugins/project"
)

type graphOptions struct {
	format    string
	keys      []string
	threshold int
	policy    string
	out       string
	// allowUnpinned lets an unpinned storage plugin fetch a URL.
	allowUnpinned bool
	identity      identityFlags
}

func newGraphCmd(g *globalOptions) *cobra.Command {
	o := &graphOptions{}
	cmd := &cobra.Command{
		Use:   "graph ATTESTATION|URL...",
		Short: "Draw the supply chain that attestations record",
		Long: `Read one or more attestations (in-toto statements, DSSE envelopes, .intoto.jsonl
bundles, Sigstore bundles) and draw their graph: sources (repository@commit), materials, builds
(builder id, handler, staging key), artifacts, images, SBOMs and VSAs. Each
edge carries the digest that joins its ends; an artifact of one build that is
a material of another is one node, so a pipeline's builds appear chained.

Each argument is a path, an attestation's URL (one ending in .json or
.jsonl), or a staging URL (a pipeline's MMBUILD_STAGING_URL): the build
published there is read from its provenance.intoto.jsonl (the provenance and
its SBOMs), or with a certificate identity to trust from its
provenance.sigstore.json (the certificate is the signer's identity), else
from provenance.json; a staging URL without provenance.json (published last)
holds no complete build and is an error. URLs are read through the storage
plugins of the project in the current folder, pinned by its lock file as
mmbuild run's are (file://, s3://, https://, whatever the plugins serve).

Each statement is checked as mmbuild verify checks it, with --key, or the
identity of --certificate-identity[-regexp] and
--certificate-oidc-issuer[-regexp] under --trusted-root (a keyless
pipeline's), or the keys or identities of --policy, with the policy's rules,
and marked:

  verified    every check passed and the signature verified
  unverified  no check failed, but no key or identity was given: nothing
              proves who made it
  failed      a check failed (the HTML page and --format json say which)

Formats: mermaid (a flowchart for GitHub and GitLab Markdown and job
summaries), dot (Graphviz), html (one self-contained page with an inline
SVG; it fetches nothing), json (the graph model). The exit status is 0
whether or not statements failed: the graph shows it.`,
		Example: `  mmbuild graph --format html -o graph.html webapp/out/provenance.intoto.jsonl server/out/provenance.intoto.jsonl --key keys/demo.pub
  mmbuild graph out/*.intoto.jsonl --key release.pub >> "$GITHUB_STEP_SUMMARY"
  mmbuild graph "$WEBAPP_STAGING_URL" "$MMBUILD_STAGING_URL" --key keys/demo.pub
  mmbuild graph "$MMBUILD_STAGING_URL" --certificate-oidc-issuer https://token.actions.githubusercontent.com \
      --certificate-identity-regexp '^https://github.com/org/app/.github/workflows/'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return drawGraph(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "mermaid", "output format: "+strings.Join(graph.Formats, ", "))
	f.StringArrayVar(&o.keys, "key", nil, "public key (PEM) to verify the statements with; repeat for several")
	f.IntVar(&o.threshold, "threshold", 1, "how many distinct --key keys must have signed")
	f.StringVar(&o.policy, "policy", "", "policy file (YAML) as mmbuild verify reads it: trusted keys and rules")
	f.StringVarP(&o.out, "output", "o", "", "write to this file (replaced whole) instead of standard output")
	o.identity.addFlags(f)
	f.BoolVar(&o.allowUnpinned, "allow-unpinned", false, "let an unpinned storage plugin fetch an attestation or staging URL")
	return cmd
}

func drawGraph(cmd *cobra.Command, g *globalOptions, o *graphOptions, paths []string) error {
	if !slices.Contains(graph.Formats, o.format) {
		return usageError{fmt.Errorf("--format %q: want one of %s", o.format, strings.Join(graph.Formats, ", "))}
	}
	if o.threshold < 1 || (len(o.keys) > 0 && o.threshold > len(o.keys)) || (len(o.keys) == 0 && o.threshold > 1) {
		return usageError{fmt.Errorf("--threshold %d: must be between 1 and the %d --key given", o.threshold, len(o.keys))}
	}
	opts := verify.Options{Threshold: o.threshold}
	if o.policy != "" {
		var err error
		if opts.Policy, err = verify.LoadPolicy(o.policy); err != nil {
			return err
		}
		if len(o.keys) > 0 && len(opts.Policy.Keys) > 0 {
			return usageError{fmt.Errorf("--key and the keys of --policy %s: give the trusted keys in one place", o.policy)}
		}
	}
	var err error
	if opts.Keys, err = loadKeys(o.keys); err != nil {
		return err
	}
	if opts.Keyless, err = o.identity.trust(o.policy, opts.Policy); err != nil {
		return err
	}
	var host *pluginhost.Host
	defer func() {
		if host != nil {
			host.Close()
		}
	}()
	files, err := graphSources(cmd.Context(), paths, opts.Keyless != nil, func() (*pluginhost.Host, error) {
		host, err = project.OpenHost("", project.WithAllowUnpinned(o.allowUnpinned), project.WithLogger(g.logger()))
		return host, err
	})
	if err != nil {
		return err
	}
	gr, err := graph.New(cmd.Context(), files, opts)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	title := "mmbuild graph: " + strings.Join(baseNames(names), ", ")
	if err := graph.Render(&buf, gr, o.format, title); err != nil {
		return err
	}
	if o.out == "" {
		_, err := g.stdout.Write(buf.Bytes())
		return err
	}
	if err := outfile.WriteAtomic(o.out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing --output %s: %w", o.out, err)
	}
	return nil
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}
