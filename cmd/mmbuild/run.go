package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/outfile"
	"github.com/mmbuild/mmbuild/core/build/run"
	"github.com/mmbuild/mmbuild/core/build/summary"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/plugins/project"
)

func newRunCmd(g *globalOptions, use string) *cobra.Command {
	o := &runFlags{}
	cmd := &cobra.Command{
		Use:   use,
		Short: "Run the build described by mmbuild.yaml",
		Long: `Run the build described by the config file (mmbuild.yaml, or the legacy
matterbuild.yaml, in the current folder by default):

  load and validate the config; start the handler and storage plugins it needs
  (the plugins serving its handler id and URL schemes, as mmbuild.lock.hcl
  records them, each checked against its pin; the lock is found beside the
  config, else in the folders above it up to the repository root); check every
  option against its plugin's schema; fetch and verify the materials into
  $MMBUILD_MATERIALS_DIR (each at most its maxSize, default 10 GiB); run the
  builder with exactly the declared environment; hash the artifacts; write the
  attestation (in-toto + SLSA v0.2); publish the artifacts to
  artifacts.destination/<staging key>/ with the attestation last, and check the
  destination holds what was published; write build.env for the next build.

If the destination already holds a complete, verified build with the same
staging key, the build is skipped (use --force to rebuild). Secret values are
redacted from everything mmbuild prints or writes. A plugin's start is bounded
by $MMBUILD_PLUGIN_START_TIMEOUT (default 20s).

Exit status: 0 success, 1 error, 2 usage, 3 the builder failed, 130 interrupted.`,
		Example: `  mmbuild run
  mmbuild run -f ci/mmbuild.yaml --output-env out/build.env
  mmbuild run --json | jq .staging_url`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBuild(cmd, g, o)
		},
	}
	o.addFlags(cmd.Flags(), runCmd)
	return cmd
}

// newBuildCmd is the original Mattermost CLI: mmbuild build [--conf F] [-w DIR] [-f].
func newBuildCmd(g *globalOptions) *cobra.Command {
	o := &runFlags{}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Alias of run with the original flags (--conf FILE, -f to force)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBuild(cmd, g, o)
		},
	}
	o.addFlags(cmd.Flags(), buildCmd)
	return cmd
}

func loadConfig(file string) (*config.Config, error) {
	return config.LoadFile(file, os.LookupEnv)
}

type runReport struct {
	StagingKey  string           `json:"staging_key"`
	StagingURL  string           `json:"staging_url,omitempty"`
	Cached      bool             `json:"cached"`
	Attestation string           `json:"attestation,omitempty"`
	Bundle      string           `json:"bundle,omitempty"`
	Sigstore    string           `json:"sigstore_bundle,omitempty"`
	SBOMs       []string         `json:"sboms,omitempty"`
	OutputEnv   string           `json:"output_env"`
	Artifacts   []artifactReport `json:"artifacts"`
}

type artifactReport struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	URL    string `json:"url,omitempty"`
}

func runBuild(cmd *cobra.Command, g *globalOptions, o *runFlags) error {
	cfg, err := loadConfig(o.file)
	if err != nil {
		return err
	}
	logger := g.logger()
	ps, err := project.Open(filepath.Dir(cfg.Path), o.projectOptions(logger)...)
	if err != nil {
		return err
	}
	// The summary is appended after the run: its place is checked before.
	if err := outfile.Check(summaryPath(o), cfg.Path, ps.LockPath); err != nil {
		return fmt.Errorf("--summary: %w", err)
	}
	host := ps.Host()
	// mmbuild exits after the run: the plugins are killed, not waited for.
	defer host.CloseNoWait()
	opts, prog, err := o.runOptions(cmd.Context(), g, logger)
	if err != nil {
		return err
	}
	res, err := run.Run(cmd.Context(), cfg, append(opts, run.WithHost(host), run.WithInputs(ps.LockPath))...)
	prog.Close()
	if err != nil {
		return err
	}
	if err := printRun(g, newRunReport(res), o.json); err != nil {
		return err
	}
	return writeRunSummary(g, o, res)
}

// writeRunSummary appends the job summary of a run to --summary FILE, else
// to $GITHUB_STEP_SUMMARY when set. A signed run's bundle is checked with
// the signing key's public half, so the summary's verify status is real.
func writeRunSummary(g *globalOptions, o *runFlags, res *run.Result) error {
	path := summaryPath(o)
	if path == "" {
		return nil
	}
	outputs := map[string]string{}
	for _, kv := range run.OutputVars(res) {
		outputs[kv[0]] = kv[1]
	}
	verifiers, err := signerVerifiers(o)
	if err != nil {
		return err
	}
	sum, err := summary.Read(res.StatementPath, res.BundlePath, outputs, verifiers)
	if err != nil {
		return fmt.Errorf("writing the job summary: %w", err)
	}
	var b bytes.Buffer
	if err := sum.WriteMarkdown(&b); err != nil {
		return err
	}
	return appendSummary(g, path, b.Bytes())
}

// signerVerifiers is the public half of --sign-key, to check what the run
// signed with it; none without one.
func signerVerifiers(o *runFlags) ([]signing.Verifier, error) {
	if o.signer == nil {
		return nil, nil
	}
	v, err := signing.NewVerifier(o.signer.Public())
	if err != nil {
		return nil, err
	}
	return []signing.Verifier{v}, nil
}

// appendSummary appends Markdown to the job summary at path, redacted.
func appendSummary(g *globalOptions, path string, md []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("writing the job summary: %w", err)
	}
	_, werr := f.Write(g.red.Bytes(md))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("writing the job summary %s: %w", path, werr)
	}
	return nil
}

// summaryPath is where the job summary of a run is appended: --summary,
// else $GITHUB_STEP_SUMMARY; "" for none.
func summaryPath(o *runFlags) string {
	if o.summary != "" {
		return o.summary
	}
	return os.Getenv("GITHUB_STEP_SUMMARY")
}

// printRun prints what a build made: JSON on stdout with --json, else a
// few lines on stderr.
func printRun(g *globalOptions, rep runReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := g.stderr
	if rep.Cached {
		fmt.Fprintf(w, "mmbuild: cached build reused: %s\n", rep.StagingURL)
	}
	for _, a := range rep.Artifacts {
		fmt.Fprintf(w, "mmbuild: artifact %s sha256:%s %s\n", a.Name, a.SHA256, a.URL)
	}
	for _, f := range append([]string{rep.Attestation, rep.Bundle, rep.Sigstore}, rep.SBOMs...) {
		if f != "" {
			fmt.Fprintf(w, "mmbuild: attestation %s\n", f)
		}
	}
	fmt.Fprintf(w, "mmbuild: staging key %s; outputs in %s\n", rep.StagingKey, rep.OutputEnv)
	return nil
}

func newRunReport(res *run.Result) runReport {
	rep := runReport{StagingKey: res.StagingKey, StagingURL: res.StagingURL, Cached: res.Cached,
		Attestation: res.StatementPath, Bundle: res.BundlePath, Sigstore: res.SigstorePath, SBOMs: res.SBOMPaths,
		OutputEnv: res.OutputEnvPath, Artifacts: []artifactReport{}}
	for _, a := range res.Artifacts {
		rep.Artifacts = append(rep.Artifacts, artifactReport{Name: a.Name, SHA256: a.Digest["sha256"], Size: a.Size, URL: a.URL})
	}
	return rep
}
