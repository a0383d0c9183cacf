package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/run"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

type runOptions struct {
	file           string
	workDir        string
	force          bool
	allowUnpinned  bool
	requireDigests bool
	outputEnv      string
	builderID      string
	keepWorkspace  bool
	json           bool
	signKey        string
	sbom           bool
}

func newRunCmd(g *globalOptions, use string) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   use,
		Short: "Run the build described by mmbuild.yaml",
		Long: `Run the build described by the config file (mmbuild.yaml, or the legacy
matterbuild.yaml, in the current folder by default):

  load and validate the config; start the handler and storage plugins it needs
  (each checked against mmbuild.lock.hcl); fetch and verify the materials into
  $MMBUILD_MATERIALS_DIR; run the builder with exactly the declared environment;
  hash the artifacts; write the attestation (in-toto + SLSA v0.2); publish the
  artifacts to artifacts.destination/<staging key>/ with the attestation last;
  write build.env for the next build.

If the destination already holds a complete, verified build with the same
staging key, the build is skipped (use --force to rebuild).

Exit status: 0 success, 1 error, 2 usage, 3 the builder failed, 130 interrupted.`,
		Example: `  mmbuild run
  mmbuild run -f ci/mmbuild.yaml --output-env out/build.env
  mmbuild run --json | jq .staging_url`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBuild(cmd, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "build config (default: mmbuild.yaml, else matterbuild.yaml, in the current folder)")
	addRunFlags(cmd, o)
	f.BoolVar(&o.force, "force", false, "build even if the destination already holds this build")
	return cmd
}

func addRunFlags(cmd *cobra.Command, o *runOptions) {
	f := cmd.Flags()
	f.StringVarP(&o.workDir, "workdir", "w", "", "work tree the builder runs in (default: the config file's folder)")
	f.BoolVar(&o.allowUnpinned, "allow-unpinned", false, "start plugins that have no entry in mmbuild.lock.hcl (their sha256 is still recorded)")
	f.BoolVar(&o.requireDigests, "require-digests", false, "refuse materials without a digest in the config")
	f.StringVar(&o.outputEnv, "output-env", "", "dotenv file for the next build (default: build.env in the work tree)")
	f.StringVar(&o.builderID, "builder-id", "", "builder.id URI recorded in the attestation (default: $MMBUILD_BUILDER_ID or "+"https://mmbuild.dev/builder/local@v1)")
	f.StringVar(&o.signKey, "sign-key", "", "private key (PEM) to sign the attestation with, over the config's signing: (see mmbuild keys generate)")
	f.BoolVar(&o.sbom, "sbom", false, "write an SPDX 2.3 SBOM of the artifacts and attest it, as sbom: true")
	f.BoolVar(&o.keepWorkspace, "keep-workspace", false, "keep the run's scratch folder (materials, staging) for inspection")
	f.BoolVar(&o.json, "json", false, "print the result as JSON on stdout, and transfer progress as JSON lines on stderr")
}

// newBuildCmd is the original Mattermost CLI: mmbuild build [--conf F] [-w DIR] [-f].
func newBuildCmd(g *globalOptions) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Alias of run with the original flags (--conf FILE, -f to force)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBuild(cmd, g, o)
		},
	}
	cmd.Flags().StringVar(&o.file, "conf", "", "build config (default: mmbuild.yaml, else matterbuild.yaml)")
	addRunFlags(cmd, o)
	cmd.Flags().BoolVarP(&o.force, "force", "f", false, "build even if the destination already holds this build")
	return cmd
}

func loadConfig(file string) (*config.Config, error) {
	if file == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if file, err = config.Find(wd); err != nil {
			return nil, err
		}
	}
	cfg, err := config.Load(file)
	if err != nil {
		return nil, err
	}
	if err := cfg.Expand(os.LookupEnv); err != nil {
		return nil, err
	}
	return cfg, nil
}

type runReport struct {
	StagingKey  string           `json:"staging_key"`
	StagingURL  string           `json:"staging_url,omitempty"`
	Cached      bool             `json:"cached"`
	Attestation string           `json:"attestation,omitempty"`
	Bundle      string           `json:"bundle,omitempty"`
	SBOM        string           `json:"sbom,omitempty"`
	OutputEnv   string           `json:"output_env"`
	Artifacts   []artifactReport `json:"artifacts"`
}

type artifactReport struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	URL    string `json:"url,omitempty"`
}

func runBuild(cmd *cobra.Command, g *globalOptions, o *runOptions) error {
	cfg, err := loadConfig(o.file)
	if err != nil {
		return err
	}
	logger := g.logger()
	host, err := newHost(filepath.Dir(cfg.Path), o.allowUnpinned, logger)
	if err != nil {
		return err
	}
	defer host.Close()
	stdout := g.stdout
	if o.json {
		stdout = g.stderr // the builder's output must not corrupt the JSON
	}
	prog := g.progress(o.json)
	runOpts, err := trustOptions(o)
	if err != nil {
		return err
	}
	res, err := run.Run(cmd.Context(), cfg, append(runOpts,
		run.WithHost(host),
		run.WithWorkDir(o.workDir),
		run.WithOutput(stdout, g.stderr),
		run.WithLogger(logger),
		run.WithForce(o.force),
		run.WithBuilderID(o.builderID),
		run.WithRequireDigests(o.requireDigests),
		run.WithOutputEnv(o.outputEnv),
		run.WithKeepWorkspace(o.keepWorkspace),
		run.WithProgress(prog),
	)...)
	prog.Close()
	if err != nil {
		return err
	}
	rep := newRunReport(res)
	if o.json {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := g.stderr
	if res.Cached {
		fmt.Fprintf(w, "mmbuild: cached build reused: %s\n", res.StagingURL)
	}
	for _, a := range rep.Artifacts {
		fmt.Fprintf(w, "mmbuild: artifact %s sha256:%s %s\n", a.Name, a.SHA256, a.URL)
	}
	for _, f := range []string{rep.Attestation, rep.Bundle, rep.SBOM} {
		if f != "" {
			fmt.Fprintf(w, "mmbuild: attestation %s\n", f)
		}
	}
	fmt.Fprintf(w, "mmbuild: staging key %s; outputs in %s\n", rep.StagingKey, rep.OutputEnv)
	return nil
}

func newRunReport(res *run.Result) runReport {
	rep := runReport{StagingKey: res.StagingKey, StagingURL: res.StagingURL, Cached: res.Cached,
		Attestation: res.StatementPath, Bundle: res.BundlePath, SBOM: res.SBOMPath,
		OutputEnv: res.OutputEnvPath, Artifacts: []artifactReport{}}
	for _, a := range res.Artifacts {
		rep.Artifacts = append(rep.Artifacts, artifactReport{Name: a.Name, SHA256: a.Digest["sha256"], Size: a.Size, URL: a.URL})
	}
	return rep
}

// trustOptions turns --sign-key and --sbom into run options.
func trustOptions(o *runOptions) ([]run.Option, error) {
	var opts []run.Option
	if o.signKey != "" {
		pem, err := os.ReadFile(o.signKey)
		if err != nil {
			return nil, fmt.Errorf("--sign-key: %w", err)
		}
		s, err := signing.LoadSigner(pem)
		if err != nil {
			return nil, fmt.Errorf("--sign-key %s: %w", o.signKey, err)
		}
		opts = append(opts, run.WithSigners(s))
	}
	opts = append(opts, run.WithSBOM(o.sbom))
	return opts, nil
}
