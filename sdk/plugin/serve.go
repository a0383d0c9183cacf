package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/mmbuild/mmbuild/sdk/internal/pluginset"
)

// Serve runs the plugin. It never returns: it exits non-zero after printing
// one line on stderr when the options are wrong.
//
// Run as `PLUGIN describe`, the binary prints its Info as JSON on stdout and
// exits, without a handshake. Run by the core, it serves gRPC through
// go-plugin; run by hand otherwise, it says it is a plugin and exits.
func Serve(opts ...Option) { ServeBundle(opts) }

// ServeBundle runs a binary that holds several plugins, each given as the
// options Serve would take for it alone; no two may serve the same kind.
// Install the binary once per plugin, as mmbuild-plugin-<name> (a copy or a
// hard link): run by hand under a name (describe, --version), it is that
// plugin. Started by the core, one process serves every plugin of the
// bundle that the run needs, and the core asks each for its own Info, so a
// run that uses two of them starts one process instead of two. Each plugin
// keeps its own name, pin and entry in the provenance.
func ServeBundle(members ...[]Option) {
	ShortLivedGC()
	if err := serve(os.Args, os.Stdout, members); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[0], err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serve runs the bundle; argv is the binary's whole command line.
func serve(argv []string, stdout io.Writer, members [][]Option) error {
	b, err := newBundle(members...)
	if err != nil {
		return err
	}
	if len(argv) > 1 && slices.Contains([]string{"describe", "--version", "version"}, argv[1]) {
		// Run by hand: the plugin the file is named for answers.
		o, err := b.runAs(argv[0])
		if err != nil {
			return err
		}
		if argv[1] == "describe" {
			return Describe(stdout, o.info())
		}
		_, err = fmt.Fprintf(stdout, "%s %s (sdk %s, api v%d)\n", o.name, o.version, SDKVersion, APIVersion)
		return err
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       b.members[0].name,
		Level:      hclog.LevelFromString(os.Getenv("MMBUILD_PLUGIN_LOG_LEVEL")),
		Output:     os.Stderr,
		JSONFormat: true, // the host parses it and relays it under our name
	})
	hclog.SetDefault(logger)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  pluginset.Handshake,
		VersionedPlugins: pluginset.Versioned(b.component()),
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
