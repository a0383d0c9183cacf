package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/run"
	"github.com/mmbuild/mmbuild/core/plugins/project"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

func newValidateCmd(g *globalOptions) *cobra.Command {
	var file string
	var allowUnpinned, noPlugins bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a build config without running anything",
		Long: `Parse and validate the build config strictly (unknown keys, wrong types and
missing values are errors with file:line:col), expand ${VAR} references from
the declared env entries and the running environment, and check every use of a
plugin (the handler, materials, secrets, destinations, transfers, credentials)
against the schema the plugin publishes: unknown options, wrong values,
secrets handed to options the plugin does not mark writeOnly. The plugins are
found through mmbuild.lock.hcl and described without being started (their
answer is cached by sha256); --no-plugins checks the config alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(file)
			if err != nil {
				return err
			}
			if err := run.CheckConfig(cfg); err != nil {
				return err
			}
			if !noPlugins {
				ps, err := project.Open(filepath.Dir(cfg.Path), project.WithAllowUnpinned(allowUnpinned), project.WithLogger(g.logger()))
				if err != nil {
					return err
				}
				info := func(kind string) (*plugin.Info, error) { return ps.Info(cmd.Context(), kind) }
				if err := run.CheckOptions(cfg, info); err != nil {
					return err
				}
			}
			fmt.Fprintf(g.stdout, "%s: valid (handler %s, %d materials, %d artifact patterns)\n",
				cfg.Path, cfg.Handler.ID, len(cfg.Materials), len(cfg.Artifacts.Files))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "build config (default: mmbuild.yaml, else matterbuild.yaml)")
	cmd.Flags().BoolVar(&allowUnpinned, "allow-unpinned", false, "describe plugins that have no entry in mmbuild.lock.hcl")
	cmd.Flags().BoolVar(&noPlugins, "no-plugins", false, "check the config alone, not the plugins' options")
	return cmd
}
