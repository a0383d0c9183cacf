package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd(g *globalOptions) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a build config without running anything",
		Long: `Parse and validate the build config strictly (unknown keys, wrong types and
missing values are errors with file:line:col) and expand ${VAR} references
from the declared env entries and the running environment.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(file)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: valid (handler %s, %d materials, %d artifact patterns)\n",
				cfg.Path, cfg.Handler.ID, len(cfg.Materials), len(cfg.Artifacts.Files))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "build config (default: mmbuild.yaml, else matterbuild.yaml)")
	return cmd
}
