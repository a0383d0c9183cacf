package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/pipeline"
	"github.com/mmbuild/mmbuild/core/build/run"
)

func newPipelineCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Chain several builds on this machine",
	}
	o := &runOptions{}
	runCmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run the builds of a pipeline file in order, each fed the outputs of the ones before",
		Long: `Run the builds listed in a pipeline file in order:

  builds:
    - name: webapp
      config: webapp/mmbuild.yaml      # relative to the pipeline file
    - name: server
      config: server/mmbuild.yaml

Each build sees the running environment plus MMBUILD_PIPELINE_DIR (the pipeline
file's folder) and the outputs of the builds before it, exactly what a CI job
gets from the previous job's build.env: MMBUILD_STAGING_PATH, MMBUILD_STAGING_URL
and MMBUILD_ARTIFACT_<NAME>_URL of the build just before, and prefixed copies
(MMBUILD_<BUILD>_STAGING_URL, ...) of every earlier one. Its materials can use
them: uri: ${MMBUILD_STAGING_URL}/webapp.tar.gz. Each build writes its own
build.env in its folder. The first failing build stops the pipeline.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPipeline(cmd.Context(), g, o, args[0])
		},
	}
	runCmd.Flags().BoolVar(&o.force, "force", false, "rebuild even when a destination already holds a build")
	runCmd.Flags().BoolVar(&o.allowUnpinned, "allow-unpinned", false, "start plugins that have no entry in mmbuild.lock.hcl")
	runCmd.Flags().BoolVar(&o.requireDigests, "require-digests", false, "refuse materials without a digest in the config")
	runCmd.Flags().StringVar(&o.builderID, "builder-id", "", "builder.id URI recorded in the attestations")
	runCmd.Flags().BoolVar(&o.json, "json", false, "print the results as JSON on stdout")
	runCmd.Flags().StringVar(&o.signKey, "sign-key", "", "private key (PEM) to sign every build's attestation with")
	runCmd.Flags().BoolVar(&o.sbom, "sbom", false, "write and attest an SPDX SBOM for every build")
	cmd.AddCommand(runCmd)
	return cmd
}

func runPipeline(ctx context.Context, g *globalOptions, o *runOptions, file string) error {
	p, err := pipeline.Load(file)
	if err != nil {
		return err
	}
	logger := g.logger()
	stdout := g.stdout
	if o.json {
		stdout = g.stderr
	}
	prog := g.progress(o.json)
	defer prog.Close()
	trust, err := trustOptions(o)
	if err != nil {
		return err
	}
	runOne := func(ctx context.Context, b pipeline.Build, cfg *config.Config, lookup func(string) (string, bool), outEnv string) (*run.Result, error) {
		logger.Info("pipeline: starting build", "name", b.Name, "config", cfg.Path)
		// The build's own lock file, else the one beside the pipeline file.
		host, err := newHost(filepath.Dir(cfg.Path), o.allowUnpinned, logger, filepath.Dir(cfg.Path), filepath.Dir(p.Path))
		if err != nil {
			return nil, err
		}
		defer host.Close()
		return run.Run(ctx, cfg, append(append([]run.Option(nil), trust...),
			run.WithHost(host),
			run.WithWorkDir(b.WorkDir),
			run.WithOutput(stdout, g.stderr),
			run.WithLogger(logger.Named(b.Name)),
			run.WithForce(o.force),
			run.WithBuilderID(o.builderID),
			run.WithRequireDigests(o.requireDigests),
			run.WithOutputEnv(outEnv),
			run.WithLookupEnv(lookup),
			run.WithProgress(prog),
		)...)
	}
	steps, err := pipeline.Run(ctx, p, os.LookupEnv, runOne)
	if err != nil {
		return err
	}
	type stepReport struct {
		Name string `json:"name"`
		runReport
	}
	var reps []stepReport
	for _, s := range steps {
		reps = append(reps, stepReport{Name: s.Name, runReport: newRunReport(s.Result)})
	}
	if o.json {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"builds": reps})
	}
	for _, r := range reps {
		state := "built"
		if r.Cached {
			state = "cached"
		}
		fmt.Fprintf(g.stderr, "mmbuild: pipeline: %s %s: %s\n", r.Name, state, r.StagingURL)
	}
	return nil
}
