package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/pflag"

	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/build/progress"
	"github.com/mmbuild/mmbuild/core/build/run"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/plugins/project"
)

// runFlags are the flags of the commands that run builds: run, build (its
// original spelling) and pipeline run. They are declared once, in
// addFlags, and turned into run options once, in runOptions, so that a new
// run option reaches all three commands.
type runFlags struct {
	file      string // run, build: the build config
	workDir   string // run, build
	outputEnv string // run, build

	force          bool
	allowUnpinned  bool
	requireDigests bool
	keepWorkspace  bool
	sbom           bool
	json           bool
	builderID      string
	signKey        string
	keyless        bool   // sign keylessly, over the config's signing:
	identityToken  string // keyless: the OIDC token's file, after the environment
	signingConfig  string // keyless: the Sigstore instance's signing_config.json
	trustedRoot    string // keyless: and its trusted_root.json
	slsa           string
	summary        string // run, build: Markdown job summary appended here
	isolation      string // the box's mode, over the config's isolation.mode
	network        string // the box's network, over the config's isolation.network

	// signer is the --sign-key key, read once by runOptions.
	signer signing.Signer
}

// runCommand is the command a runFlags is for.
type runCommand int

const (
	runCmd      runCommand = iota // mmbuild run: -f/--file CONFIG, --force
	buildCmd                      // mmbuild build: --conf CONFIG, -f/--force
	pipelineCmd                   // mmbuild pipeline run: the pipeline names each build's config and work tree
)

// addFlags adds the flags of c to f.
func (o *runFlags) addFlags(f *pflag.FlagSet, c runCommand) {
	const force = "build even if the destination already holds this build"
	switch c {
	case runCmd:
		f.StringVarP(&o.file, "file", "f", "", "build config (default: mmbuild.yaml, else matterbuild.yaml, in the current folder)")
		f.BoolVar(&o.force, "force", false, force)
	case buildCmd:
		f.StringVar(&o.file, "conf", "", "build config (default: mmbuild.yaml, else matterbuild.yaml, in the current folder)")
		f.BoolVarP(&o.force, "force", "f", false, force)
	case pipelineCmd:
		f.BoolVar(&o.force, "force", false, "rebuild even when a destination already holds a build")
	}
	if c != pipelineCmd {
		f.StringVar(&o.summary, "summary", "", "append a Markdown summary (materials, artifacts, digests, staging URL, signature and its check) to this file (default: $GITHUB_STEP_SUMMARY when set)")
		f.StringVarP(&o.workDir, "workdir", "w", "", "work tree the builder runs in (default: the config file's folder)")
		f.StringVar(&o.outputEnv, "output-env", "", "dotenv file for the next build (default: build.env in the work tree)")
	}
	f.BoolVar(&o.allowUnpinned, "allow-unpinned", false, "start plugins that have no entry in mmbuild.lock.hcl (their sha256 is still recorded)")
	f.BoolVar(&o.requireDigests, "require-digests", false, "refuse materials without a digest in the config")
	f.StringVar(&o.builderID, "builder-id", "", "builder.id URI recorded in the attestation (default: $MMBUILD_BUILDER_ID or https://mmbuild.dev/builder/local@v1)")
	f.StringVar(&o.signKey, "sign-key", "", "private key (PEM) to sign the attestation with, or a KMS key (awskms://, gcpkms://, azurekms://, hashivault://, a KMS plugin's NAME://), over the config's signing: (see mmbuild keys generate)")
	f.BoolVar(&o.keyless, "keyless", false, "sign keylessly, over the config's signing: the CI's OIDC identity token ($SIGSTORE_ID_TOKEN, GitHub Actions' id-token, or --identity-token) buys a Fulcio certificate; the signature is logged in Rekor and timestamped, in a Sigstore bundle")
	f.StringVar(&o.identityToken, "identity-token", "", "keyless signing: file holding the OIDC identity token (audience sigstore), used when neither $SIGSTORE_ID_TOKEN nor GitHub Actions gives one")
	f.StringVar(&o.signingConfig, "signing-config", "", "keyless signing: the Sigstore instance's signing_config.json (with --trusted-root; default: the public-good instance)")
	f.StringVar(&o.trustedRoot, "trusted-root", "", "keyless signing: the Sigstore instance's trusted_root.json (with --signing-config)")
	f.BoolVar(&o.sbom, "sbom", false, "write an SPDX 2.3 SBOM of the artifacts and attest it, as sbom: true")
	f.StringVar(&o.slsa, "slsa", "", "SLSA provenance version to write, over the config's slsa: v0.2 (in-toto Statement v0.1, the default) or v1 (Statement v1)")
	f.BoolVar(&o.keepWorkspace, "keep-workspace", false, "keep the run's scratch folder (materials, staging) for inspection")
	f.BoolVar(&o.json, "json", false, "print the result as JSON on stdout, and transfer progress as JSON lines on stderr")
	f.StringVar(&o.isolation, "isolation", "", "the builder's box, over the config's isolation.mode: auto (the strongest the machine allows, with a warning for what it cannot; the default), required (fail before building without the whole box) or off")
	f.StringVar(&o.network, "network", "", "the network the build reaches, over the config's isolation.network: host (the default) or none (a loopback of its own only)")
}

// projectOptions are the options the plugin set of a build is opened with.
func (o *runFlags) projectOptions(logger hclog.Logger, lockDirs ...string) []project.Option {
	return []project.Option{project.WithAllowUnpinned(o.allowUnpinned), project.WithLogger(logger), project.WithLockDirs(lockDirs...)}
}

// runOptions returns the run options the flags ask for, with where the
// builds print: the builder's output on stdout (on stderr with --json, so
// that it cannot corrupt the JSON) and the progress reporter, which the
// caller closes. The signing key is read here, once. A caller adds the
// plugin host and anything particular to one build.
func (o *runFlags) runOptions(ctx context.Context, g *globalOptions, logger hclog.Logger) ([]run.Option, progress.Reporter, error) {
	opts := []run.Option{
		run.WithForce(o.force),
		run.WithBuilderID(o.builderID),
		run.WithRequireDigests(o.requireDigests),
		run.WithKeepWorkspace(o.keepWorkspace),
		run.WithSBOM(o.sbom),
		run.WithWorkDir(o.workDir),
		run.WithOutputEnv(o.outputEnv),
		run.WithLogger(logger),
		run.WithRedactor(g.red),
		run.WithToolVersion(version),
	}
	if o.slsa != "" {
		f, err := provenance.ParseFormat(o.slsa)
		if err != nil {
			return nil, nil, fmt.Errorf("--slsa: %w", err)
		}
		opts = append(opts, run.WithSLSA(f))
	}
	mode, err := isolation.ParseMode(o.isolation)
	if err != nil {
		return nil, nil, fmt.Errorf("--isolation: %w", err)
	}
	network, err := isolation.ParseNetwork(o.network)
	if err != nil {
		return nil, nil, fmt.Errorf("--network: %w", err)
	}
	if o.isolation == "" {
		mode = ""
	}
	if o.network == "" {
		network = ""
	}
	opts = append(opts, run.WithIsolation(mode, network))
	if o.keyless && o.signKey != "" {
		return nil, nil, usageError{errors.New("--keyless and --sign-key: keyless signing signs alone, give one")}
	}
	if (o.signingConfig == "") != (o.trustedRoot == "") {
		return nil, nil, usageError{errors.New("--signing-config and --trusted-root go together (the instance to sign with and its trust root)")}
	}
	if o.identityToken != "" {
		opts = append(opts, run.WithHiddenFiles(o.identityToken))
	}
	opts = append(opts, run.WithKeyless(signing.KeylessConfig{TokenFile: o.identityToken, SigningConfig: o.signingConfig, TrustedRoot: o.trustedRoot}, o.keyless))
	if o.signKey != "" {
		if !signing.IsKMS(o.signKey) {
			opts = append(opts, run.WithHiddenFiles(o.signKey))
		}
		s, err := loadSigner(ctx, o.signKey)
		if err != nil {
			return nil, nil, err
		}
		o.signer = s
		opts = append(opts, run.WithSigners(s))
	}
	stdout := g.stdout
	if o.json {
		stdout = g.stderr
	}
	prog := g.progress(o.json)
	opts = append(opts, run.WithOutput(stdout, g.stderr), run.WithProgress(prog))
	return slices.Clip(opts), prog, nil
}

// loadSigner reads --sign-key: a PEM file, or a KMS key.
func loadSigner(ctx context.Context, path string) (signing.Signer, error) {
	if signing.IsKMS(path) {
		s, err := signing.LoadKMSSigner(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("--sign-key: %w", err)
		}
		return s, nil
	}
	pem, err := signing.ReadKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("--sign-key: %w", err)
	}
	s, err := signing.LoadSigner(pem)
	if err != nil {
		return nil, fmt.Errorf("--sign-key %s: %w", path, err)
	}
	return s, nil
}
