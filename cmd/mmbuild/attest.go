package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/evidence/attest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

type attestOptions struct {
	subjects      []string
	materials     []string
	dir           string
	signKey       string
	predicateType string
	sbom          []string
	builderID     string
	out           string
	json          bool
}

func newAttestCmd(g *globalOptions) *cobra.Command {
	o := &attestOptions{}
	cmd := &cobra.Command{
		Use:   "attest --subject GLOB... [--material URI...] [--sign-key KEY] [-o DIR]",
		Short: "Write provenance for artifacts built without mmbuild run",
		Long: `Write an in-toto provenance statement (and, with --sbom, SBOMs) for artifacts
that were built by something else: the peer of witness run and cosign
attest-blob. mmbuild verify, replay's loader and cosign read it like the
provenance of mmbuild run.

The statement says honestly what mmbuild did not control: its buildType is
` + provenance.AttestBuildType + ` (not a handler's), every SLSA completeness flag
is false, and it records no environment and no build times. It records:

  subjects    every file --subject matches (globs with **, relative to --dir;
              nothing outside it, also not through a symlink), by file name,
              with the sha256 and sha512 mmbuild computes
  materials   each --material: a local file (hashed by mmbuild), URI@sha256:HEX
              (or sha512:, sha1:) with the digest as given, or git+URL@COMMIT;
              and the commit of the git work tree --dir is in
  source      that work tree's repository and commit (dirty is recorded)
  builder.id  --builder-id, else $MMBUILD_BUILDER_ID, else the CI runner's
  ci          the CI job's facts, when run in GitHub Actions, GitLab CI or Jenkins

Files written into -o DIR, all or none: provenance.json, and when signed
provenance.intoto.jsonl (DSSE) and provenance.sigstore.json (Sigstore bundle
v0.3); with --sbom the SBOMs (sbom.spdx.json, sbom.cdx.json) and their
statements in the .intoto.jsonl.`,
		Example: `  mmbuild attest --subject 'dist/*' --sign-key mmbuild.key -o out/
  mmbuild attest --subject 'dist/**/*.tar.gz' --material vendor/lib.tgz \
      --material https://example.com/tool.tgz@sha256:4b0f... --predicate-type v1 --json
  mmbuild verify dist/app.tar.gz --attestation out/provenance.intoto.jsonl --key mmbuild.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := o.request(cmd.Context())
			if err != nil {
				return err
			}
			res, err := attest.Write(cmd.Context(), req, o.out)
			if err != nil {
				return err
			}
			return printAttest(g, o, res)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.subjects, "subject", nil, "glob of the artifacts to attest, relative to --dir (repeat; required)")
	f.StringArrayVar(&o.materials, "material", nil, "an input of the build: a local file, URI@sha256:HEX or git+URL@COMMIT (repeat)")
	f.StringVar(&o.dir, "dir", ".", "the folder the subjects are in")
	f.StringVar(&o.signKey, "sign-key", "", "private key (PEM file, or a KMS key: awskms://, gcpkms://, azurekms://, hashivault://) to sign the statements with")
	f.StringVar(&o.predicateType, "predicate-type", "", "provenance predicate type: https://slsa.dev/provenance/v0.2 (default) or https://slsa.dev/provenance/v1 (or v0.2, v1)")
	f.StringSliceVar(&o.sbom, "sbom", nil, "also write SBOMs of the subjects in these formats: spdx, cyclonedx")
	f.StringVar(&o.builderID, "builder-id", "", "builder.id URI recorded (default: $MMBUILD_BUILDER_ID, the CI runner's, or "+provenance.DefaultBuilderID+")")
	f.StringVarP(&o.out, "output", "o", ".", "folder to write the evidence into")
	f.BoolVar(&o.json, "json", false, "print what was written as JSON")
	return cmd
}

// request is the attest.Request the flags describe.
func (o *attestOptions) request(ctx context.Context) (attest.Request, error) {
	req := attest.Request{
		Dir: o.dir, Subjects: o.subjects, Materials: o.materials,
		BuilderID: o.builderID, ToolVersion: version,
	}
	if len(o.subjects) == 0 {
		return req, usageError{fmt.Errorf("--subject GLOB is required: name the artifacts to attest")}
	}
	if o.predicateType != "" {
		f, err := provenance.ParsePredicateType(o.predicateType)
		if err != nil {
			return req, usageError{fmt.Errorf("--predicate-type: %w", err)}
		}
		req.Format = f
	}
	for _, s := range o.sbom {
		f, err := sbom.ParseFormat(s)
		if err != nil {
			return req, usageError{fmt.Errorf("--sbom: %w", err)}
		}
		req.SBOMFormats = append(req.SBOMFormats, f)
	}
	if o.signKey != "" {
		s, err := loadSigner(ctx, o.signKey)
		if err != nil {
			return req, err
		}
		req.Signers = []signing.Signer{s}
	}
	return req, nil
}

func printAttest(g *globalOptions, o *attestOptions, res *attest.Result) error {
	if o.json {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	for _, s := range res.Subjects {
		fmt.Fprintf(g.stdout, "subject  %s sha256:%s\n", s.Name, s.Digest["sha256"])
	}
	for _, f := range res.Files {
		fmt.Fprintf(g.stdout, "wrote    %s\n", f)
	}
	if !res.Signed {
		fmt.Fprintln(g.stderr, "mmbuild: warning: the statement is not signed (no --sign-key): nothing proves who made it")
	}
	return nil
}
