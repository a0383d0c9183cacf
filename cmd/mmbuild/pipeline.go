package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/pipeline"
	"github.com/mmbuild/mmbuild/core/build/run"
	"github.com/mmbuild/mmbuild/core/build/summary"
	"github.com/mmbuild/mmbuild/core/plugins/project"
)

func newPipelineCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Chain several builds on this machine",
	}
	o := &runFlags{}
	runSub := &cobra.Command{
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
build.env in its folder. The first failing build stops the pipeline.

The flags are run's and apply to every build; each build's config, work tree
and build.env are the pipeline file's to name. Each build uses its own
mmbuild.lock.hcl (beside its config, else above it up to the repository
root), else the one beside the pipeline file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPipeline(cmd.Context(), g, o, args[0])
		},
	}
	o.addFlags(runSub.Flags(), pipelineCmd)
	cmd.AddCommand(runSub)
	return cmd
}

func runPipeline(ctx context.Context, g *globalOptions, o *runFlags, file string) error {
	p, err := pipeline.Load(file)
	if err != nil {
		return err
	}
	logger := g.logger()
	opts, prog, err := o.runOptions(ctx, g, logger)
	if err != nil {
		return err
	}
	defer prog.Close()
	runOne := func(ctx context.Context, b pipeline.Build, cfg *config.Config, lookup func(string) (string, bool), outEnv string) (*run.Result, error) {
		logger.Info("pipeline: starting build", "name", b.Name, "config", cfg.Path)
		ps, err := project.Open(filepath.Dir(cfg.Path), o.projectOptions(logger, filepath.Dir(p.Path))...)
		if err != nil {
			return nil, err
		}
		host := ps.Host()
		defer host.Close()
		return run.Run(ctx, cfg, append(opts,
			run.WithHost(host),
			run.WithInputs(ps.LockPath, p.Path),
			run.WithLogger(logger.Named(b.Name)),
			run.WithWorkDir(b.WorkDir),
			run.WithOutputEnv(outEnv),
			run.WithLookupEnv(lookup),
		)...)
	}
	steps, err := pipeline.Run(ctx, p, os.LookupEnv, runOne)
	if err != nil {
		return err
	}
	if err := writePipelineSummary(g, o, steps); err != nil {
		return err
	}
	return printPipeline(g, steps, o.json)
}

// writePipelineSummary appends the pipeline's supply chain, one Mermaid
// graph of every build's attestation, to the job summary (--summary FILE,
// else $GITHUB_STEP_SUMMARY when set).
func writePipelineSummary(g *globalOptions, o *runFlags, steps []pipeline.StepResult) error {
	path := summaryPath(o)
	if path == "" {
		return nil
	}
	var atts []string
	for _, s := range steps {
		switch {
		case s.Result == nil:
		case s.Result.BundlePath != "":
			atts = append(atts, s.Result.BundlePath)
		case s.Result.StatementPath != "":
			atts = append(atts, s.Result.StatementPath)
		}
	}
	if len(atts) == 0 {
		return nil
	}
	verifiers, err := signerVerifiers(o)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := summary.WritePipelineMarkdown(&b, atts, verifiers); err != nil {
		return fmt.Errorf("writing the pipeline's job summary: %w", err)
	}
	return appendSummary(g, path, b.Bytes())
}

// printPipeline prints what each build of a pipeline made: JSON on stdout
// with --json, else a line per build on stderr.
func printPipeline(g *globalOptions, steps []pipeline.StepResult, asJSON bool) error {
	type stepReport struct {
		Name string `json:"name"`
		runReport
	}
	var reps []stepReport
	for _, s := range steps {
		reps = append(reps, stepReport{Name: s.Name, runReport: newRunReport(s.Result)})
	}
	if asJSON {
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
