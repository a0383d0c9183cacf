package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/run"
	"github.com/mmbuild/mmbuild/core/build/summary"
)

type summaryOptions struct {
	file, workDir, env string
	keys               []string
}

func newSummaryCmd(g *globalOptions) *cobra.Command {
	o := &summaryOptions{}
	cmd := &cobra.Command{
		Use:   "summary",
		Short: "Print what the last run of a build made, as Markdown for a CI job summary",
		Long: `Read what the last mmbuild run of the config left in its work tree (the
attestation in provenance:, the signed bundle beside it, build.env; without
provenance: only build.env) and print
a Markdown summary: the staging URL, the builder, the signature, tables
of the artifacts and materials with their digests, and the build's supply
chain as a Mermaid graph (as mmbuild graph draws it; GitHub and GitLab
render it). With --key, the signed
bundle is verified with that public key and the result shown; the exit
status is 1 when it does not verify.

In GitHub Actions: mmbuild summary >> "$GITHUB_STEP_SUMMARY" (the action in
ci/github does it).`,
		Example: `  mmbuild run && mmbuild summary --key keys/release.pub >> "$GITHUB_STEP_SUMMARY"`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return printSummary(g, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "build config (default: mmbuild.yaml, else matterbuild.yaml)")
	f.StringVarP(&o.workDir, "workdir", "w", "", "work tree of the run (default: the config file's folder)")
	f.StringVar(&o.env, "output-env", "", "the run's dotenv file (default: build.env in the work tree)")
	f.StringArrayVar(&o.keys, "key", nil, "public key (PEM) the signed bundle must verify with (repeatable)")
	return cmd
}

func printSummary(g *globalOptions, o *summaryOptions) error {
	cfg, err := loadConfig(o.file)
	if err != nil {
		return err
	}
	workDir := o.workDir
	if workDir == "" {
		workDir = filepath.Dir(cfg.Path)
	}
	// Without provenance: there is no local attestation: the summary is
	// what build.env says.
	dir, statement, bundle := cfg.Provenance, "", ""
	if dir != "" {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(workDir, dir)
		}
		statement, bundle = filepath.Join(dir, run.StatementName), filepath.Join(dir, run.BundleName)
	}
	envFile := o.env
	if envFile == "" {
		envFile = filepath.Join(workDir, run.DefaultOutputEnv)
	}
	outputs, err := readOutputEnv(envFile)
	if err != nil {
		return err
	}
	verifiers, err := loadKeys(o.keys)
	if err != nil {
		return err
	}
	s, err := summary.Read(statement, bundle, outputs, verifiers)
	if err != nil {
		return err
	}
	if err := s.WriteMarkdown(g.stdout); err != nil {
		return err
	}
	if len(verifiers) > 0 && s.Verify != "ok" {
		return fmt.Errorf("summary --key: the build's signed attestation (provenance: %q) does not verify: %s", cfg.Provenance, s.Verify)
	}
	return nil
}

// readOutputEnv reads the NAME=value lines of a run's dotenv file.
func readOutputEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the run's outputs: %w", err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = v
		}
	}
	return vars, sc.Err()
}
