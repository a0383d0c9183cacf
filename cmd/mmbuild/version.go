package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

type versionInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	APIVersion int    `json:"plugin_api_version"`
	SDKVersion string `json:"sdk_version"`
	GoVersion  string `json:"go_version"`
	Platform   string `json:"platform"`
}

func newVersionCmd(g *globalOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print mmbuild's version and the plugin API it speaks",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := versionInfo{Version: version, APIVersion: plugin.APIVersion, SDKVersion: plugin.SDKVersion,
				GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						v.Commit = s.Value
					}
				}
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(v)
			}
			fmt.Fprintf(g.stdout, "mmbuild %s (plugin API v%d, sdk %s, %s, %s)\n", v.Version, v.APIVersion, v.SDKVersion, v.GoVersion, v.Platform)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
