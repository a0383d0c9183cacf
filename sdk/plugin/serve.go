package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
)

// Serve runs the plugin. It never returns: it exits non-zero after printing
// one line on stderr when the options are wrong.
//
// Run as `PLUGIN describe`, the binary prints its Info as JSON on stdout and
// exits, without a handshake. Run by the core, it serves gRPC through
// go-plugin; run by hand otherwise, it says it is a plugin and exits.
func Serve(opts ...Option) {
	ShortLivedGC()
	if err := serve(os.Args[1:], os.Stdout, opts); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[0], err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serve(args []string, stdout io.Writer, opts []Option) error {
	o, err := newOptions(opts)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		switch args[0] {
		case "describe":
			return Describe(stdout, o.info())
		case "--version", "version":
			_, err := fmt.Fprintf(stdout, "%s %s (sdk %s, api v%d)\n", o.name, o.version, SDKVersion, APIVersion)
			return err
		}
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       o.name,
		Level:      hclog.LevelFromString(os.Getenv("MMBUILD_PLUGIN_LOG_LEVEL")),
		Output:     os.Stderr,
		JSONFormat: true, // the host parses it and relays it under our name
	})
	hclog.SetDefault(logger)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{APIVersion: {pluginSetName: &grpcPlugin{impl: o}}},
		GRPCServer:       goplugin.DefaultGRPCServer,
		Logger:           logger,
	})
	return nil
}

// Describe writes info as indented JSON, the output of `PLUGIN describe`.
func Describe(w io.Writer, info *Info) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(info)
}

// Logger returns the plugin's logger: hclog to stderr, relayed by the core
// under the plugin's name. Use it instead of writing to stdout, which belongs
// to the handshake.
func Logger() hclog.Logger { return hclog.Default() }
