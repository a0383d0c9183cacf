package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
)

type verifyOptions struct {
	attestation   string
	keys          []string
	threshold     int
	allowUnsigned bool
	builderID     string
	sourceURI     string
	sourceCommit  string
	json          bool
	policy        string
	digests       []string
	identity      identityFlags
}

func newVerifyCmd(g *globalOptions) *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify [ARTIFACT...] --attestation FILE (--key PUB | --certificate-identity[-regexp] ID --certificate-oidc-issuer ISSUER)",
		Short: "Check artifacts against a signed attestation",
		Long: `Check that an attestation is signed by the given keys, or keylessly by a
trusted identity, and that it covers the artifacts, and report every check by
name:

  envelope        the file parses (statement, DSSE envelope, Sigstore bundle
                  v0.1-v0.3 or .intoto.jsonl bundle) and the payload type is
                  application/vnd.in-toto+json
  signature       signatures verify with --threshold of the --key public keys
                  (key ids in the envelope are only hints; a key-signed
                  Sigstore bundle's transparency-log entries are not
                  checked), or a Sigstore bundle's Fulcio certificate
                  verifies under --trusted-root (the chain, the log entry's
                  inclusion proof and that it is this envelope's, the
                  timestamps, the SCT when the root has a CT log unless
                  --insecure-ignore-sct) and names the identity given by
                  --certificate-identity[-regexp] and
                  --certificate-oidc-issuer[-regexp] (sigstore-go's verifier)
  statement-type  _type is https://in-toto.io/Statement/v0.1 or v1
  predicate-type  SLSA provenance v0.2 or v1, or a SLSA verification summary
                  (VSA v1, as mmbuild replay --vsa writes), decoded strictly
  subjects        every ARTIFACT has a subject named like its base name, and
                  every digest that subject records (sha256, sha512, sha1)
                  matches the file; every --digest ALG:HEX (an artifact
                  not at hand) is recorded by a subject
  builder-id      builder.id equals --builder-id
  source-uri      the source (v0.2 configSource.uri; v1 mmbuild's
                  externalParameters.source, another builder's git+
                  resolved dependency) equals --source-uri: exactly if
                  --source-uri ends in @REVISION, else ignoring the recorded
                  @revision; the git+ prefix may be left out
  source-commit   the source's commit (sha1 / gitCommit) equals --source-commit
  materials       every material has a uri and a sha256 or sha512 digest (a
                  sha1 or gitCommit alone only for git+ commits)
  times           the start is not after the finish, neither in the future
                  (5 minutes of clock skew allowed); a VSA's timeVerified
  verification-result  a VSA's verdict is PASSED
  ci-identity     signed keylessly by a CI job (GitHub or GitLab certificate
                  extensions), the CI job the statement records is that
                  job: platform, repository and its id, ref, commit,
                  workflow (GitHub), run URL and runner kind, wherever both
                  say; the failure names the field that differs

With --policy FILE (YAML, kept in the consumer's repository) more:

  policy:identity        the keyless signer is one of identities[]
  policy:predicate-type  the predicate type is one of predicateTypes
  policy:builder-id      builder.id is one of builderIDs
  policy:source          the source is one of sources[].repo, at one of its
                         refs (or commits) when it lists any
  policy:materials       every materials[] entry (sha256, and uri when given)
                         was used by the build

  # verify-policy.yaml
  keys: [keys/release.pub]     # trusted keys, relative to the policy file
  threshold: 1
  # or trusted keyless signers (issuer[Regexp], subject[Regexp], and the CI's
  # certificate extensions repository, ref, workflow), under trustedRoot:
  # identities: [{issuer: https://token.actions.githubusercontent.com,
  #               subjectRegexp: ^https://github.com/org/app/, ref: refs/heads/main}]
  predicateTypes: [https://slsa.dev/provenance/v1]
  builderIDs: [https://ci.example.com/runner@v1]
  sources: [{repo: https://git.example.com/org/app.git, refs: [refs/heads/main]}]
  materials: [{uri: https://example.com/lib-1.2.tgz, sha256: 4b0f...}]

Expectations not given are reported as skipped. Without --key or an identity
(or the policy's), the signature check fails unless --allow-unsigned is given, and is
then reported as skipped: the attestation's content is checked but nothing
proves who made it.

The attestation is read from a local path (storage URLs are not supported
yet). Exit status: 0 when no check failed, 1 otherwise, 2 on wrong usage.`,
		Example: `  mmbuild verify dist/server.tar.gz --attestation out/server.intoto.jsonl --key mmbuild.pub
  mmbuild verify dist/* --attestation build.intoto.jsonl --key a.pub --key b.pub --threshold 2 \
      --builder-id https://ci.example.com/runner@v1 --source-uri https://git.example.com/org/app.git
  mmbuild verify app.tar.gz --attestation statement.json --allow-unsigned --json
  mmbuild verify app.tar.gz --attestation app.sigstore.json --policy verify-policy.yaml
  mmbuild verify --digest sha512:46d4e2f7... --attestation sigstore.js.sigstore.json \
      --certificate-identity-regexp '^https://github.com/sigstore/sigstore-js/' \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com --trusted-root trusted_root.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(o.digests) == 0 {
				return usageError{errors.New("give the artifacts to check, or their digests with --digest ALG:HEX")}
			}
			return verifyArtifacts(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.attestation, "attestation", "", "attestation file: an in-toto statement, a DSSE envelope or a .intoto.jsonl bundle (required)")
	f.StringArrayVar(&o.keys, "key", nil, "public key (PEM) to verify the signature with; repeat for several")
	f.IntVar(&o.threshold, "threshold", 1, "how many distinct --key keys must have signed")
	f.BoolVar(&o.allowUnsigned, "allow-unsigned", false, "without --key, check the content of an unverified attestation instead of failing")
	f.StringVar(&o.builderID, "builder-id", "", "expected builder.id")
	f.StringVar(&o.sourceURI, "source-uri", "", "expected source repository (invocation.configSource.uri)")
	f.StringVar(&o.sourceCommit, "source-commit", "", "expected source commit (invocation.configSource.digest.sha1)")
	f.BoolVar(&o.json, "json", false, "print the report as JSON")
	f.StringVar(&o.policy, "policy", "", "policy file (YAML): trusted keys and threshold or identities, allowed predicate types, builder ids, source repos/refs, required material digests; each is a named check")
	f.StringArrayVar(&o.digests, "digest", nil, "an artifact's digest in place of the file (sha256:HEX or sha512:HEX): a subject must record it; repeatable")
	o.identity.addFlags(f)
	return cmd
}

func verifyArtifacts(ctx context.Context, g *globalOptions, o *verifyOptions, artifacts []string) error {
	if o.attestation == "" {
		return usageError{errors.New("--attestation FILE is required")}
	}
	if o.threshold < 1 {
		return usageError{fmt.Errorf("--threshold %d: must be at least 1", o.threshold)}
	}
	if len(o.keys) > 0 && o.threshold > len(o.keys) {
		return usageError{fmt.Errorf("--threshold %d: only %d --key given", o.threshold, len(o.keys))}
	}
	if len(o.keys) == 0 && o.threshold > 1 {
		return usageError{fmt.Errorf("--threshold %d: no --key given", o.threshold)}
	}
	var policy *verify.Policy
	if o.policy != "" {
		var err error
		if policy, err = verify.LoadPolicy(o.policy); err != nil {
			return err
		}
		if len(o.keys) > 0 && len(policy.Keys) > 0 {
			return usageError{fmt.Errorf("--key and the keys of --policy %s: give the trusted keys in one place", o.policy)}
		}
	}
	keyless, err := o.identity.trust(o.policy, policy)
	if err != nil {
		return err
	}
	opts := verify.Options{
		Policy:        policy,
		Keyless:       keyless,
		Artifacts:     artifacts,
		Threshold:     o.threshold,
		AllowUnsigned: o.allowUnsigned,
		BuilderID:     o.builderID,
		SourceURI:     o.sourceURI,
		SourceCommit:  o.sourceCommit,
	}
	for _, d := range o.digests {
		dg, err := verify.ParseDigest(d)
		if err != nil {
			return usageError{fmt.Errorf("--digest: %w", err)}
		}
		opts.Digests = append(opts.Digests, dg)
	}
	if opts.Keys, err = loadKeys(o.keys); err != nil {
		return err
	}
	r, err := verify.File(ctx, o.attestation, opts)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		printReport(g.stdout, r)
	}
	if c, _ := r.Check(verify.CheckSignature); c.Status == verify.Skipped && r.OK {
		fmt.Fprintf(g.stderr, "mmbuild: warning: the signature of %s was NOT verified (--allow-unsigned): nothing proves who made it\n", o.attestation)
	}
	return r.Err()
}

func printReport(w io.Writer, r *verify.Report) {
	for _, c := range r.Checks {
		label := "ok"
		switch c.Status {
		case verify.Fail:
			label = "FAIL"
		case verify.Skipped:
			label = "skipped"
		}
		fmt.Fprintf(w, "%-8s %-21s %s\n", label, c.Name, c.Detail)
	}
}

// loadKeys reads the public keys of --key, each named in its error.
func loadKeys(paths []string) ([]signing.Verifier, error) {
	vs, err := signing.LoadVerifierFiles("", paths...)
	if err != nil {
		return nil, fmt.Errorf("--%w", err)
	}
	return vs, nil
}
