package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/plugins/audit"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/install"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
	"github.com/mmbuild/mmbuild/core/plugins/project"
)

func newPluginsCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "Audit, pin and install plugins",
		Long: `Plugins are executables named mmbuild-plugin-<name>, searched in order in
$MMBUILD_PLUGIN_PATH (a : list), the project's .mmbuild/plugins/, the user's
$XDG_DATA_HOME/mmbuild/plugins/ and the folder beside the mmbuild executable.
The first of a name wins; later ones are shadowed.

mmbuild.lock.hcl, committed beside mmbuild.yaml, pins each plugin's version and
the sha256 of its binary per platform; run starts a plugin only if it matches.`,
	}
	cmd.AddCommand(newPluginsListCmd(g), newPluginsLockCmd(g), newPluginsInstallCmd(g))
	return cmd
}

func newPluginsListCmd(g *globalOptions) *cobra.Command {
	var asJSON, strict bool
	var dir string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Audit every installed plugin without trusting it",
		Long: `List every plugin binary on the search path with its version, kinds, API
version, actual and pinned sha256, and a status:

  ok                    pinned, checksum matches, API compatible
  checksum-mismatch     the binary differs from the sha256 in mmbuild.lock.hcl
  unpinned              no entry in mmbuild.lock.hcl (run: mmbuild plugins lock)
  incompatible-api      speaks another plugin API version
  not-executable        not an executable regular file
  insecure-permissions  writable by group or others, or owned by another user
  shadowed              an earlier plugin of the same name wins
  broken                not a Go binary, or describe failed

Build info is read without executing anything; only binaries whose sha256
matches their pin are asked to describe themselves (answers are cached by
sha256). --strict exits non-zero unless every plugin is ok.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listPlugins(cmd.Context(), g, dir, asJSON, strict)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the audit as JSON")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit non-zero unless every plugin is ok")
	cmd.Flags().StringVarP(&dir, "dir", "C", "", "project folder: its .mmbuild/plugins, and its mmbuild.lock.hcl, found as run finds it (default: the current folder)")
	return cmd
}

func listPlugins(ctx context.Context, g *globalOptions, dir string, asJSON, strict bool) error {
	p, err := project.Open(dir)
	if err != nil {
		return err
	}
	reports, err := p.Audit(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"plugins": reports, "ok": audit.OK(reports)}); err != nil {
			return err
		}
	} else {
		printReports(g.stdout, reports)
	}
	if strict && !audit.OK(reports) {
		return fmt.Errorf("plugins list --strict: %s", audit.Summary(reports))
	}
	return nil
}

func printReports(w io.Writer, reports []audit.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tKINDS\tAPI\tSHA256\tSTATUS\tPATH")
	for _, r := range reports {
		api := "-"
		if r.APIVersion != 0 {
			api = fmt.Sprintf("v%d", r.APIVersion)
		}
		kinds := strings.Join(r.Kinds, ",")
		if kinds == "" {
			kinds = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, orDash(r.Version), kinds, api, short(r.SHA256), r.Status, r.Path)
	}
	_ = tw.Flush()
	for _, r := range reports {
		if r.Reason != "" {
			fmt.Fprintf(w, "%s (%s): %s\n", r.Name, r.Path, r.Reason)
		}
	}
	fmt.Fprintln(w, audit.Summary(reports))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(sum string) string {
	if len(sum) > 7+12 {
		return sum[:7+12] + "…"
	}
	return orDash(sum)
}

func newPluginsLockCmd(g *globalOptions) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "lock [NAME...]",
		Short: "Pin the installed plugins' versions and sha256 in mmbuild.lock.hcl",
		Long: `Write or update mmbuild.lock.hcl with the version and the sha256 of every
plugin that wins on the search path (or only the NAMEs given) for this
platform; other platforms' pins are kept. Locking is a decision to trust the
binaries as they are now: each one is asked to describe itself, and one that
speaks another API version is refused.

The lock file updated is the project's: the one in the project folder, else
the nearest one above it up to the repository root (the folder holding
.git); without one, a new one is written in the project folder. The last
line printed names it.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return lockPlugins(cmd.Context(), g, dir, args)
		},
	}
	cmd.Flags().StringVarP(&dir, "dir", "C", "", "project folder (default: the current folder)")
	return cmd
}

func lockPlugins(ctx context.Context, g *globalOptions, dir string, names []string) error {
	p, err := project.Open(dir)
	if err != nil {
		return err
	}
	res, err := p.UpdateLock(ctx, names)
	if err != nil {
		return err
	}
	for _, pin := range res.Pins {
		state := string(pin.State())
		if pin.State() == project.Updated {
			state += " (was " + short(pin.Previous) + ")"
		}
		fmt.Fprintf(g.stdout, "%-10s %-10s %s %s  %s\n", pin.Name, pin.Version, res.Platform, pin.SHA256, state)
	}
	fmt.Fprintf(g.stdout, "wrote %s\n", res.Path)
	return nil
}

type installOptions struct {
	checksum, name, dir, maxSize string
	allowUnpinned                bool
}

func newPluginsInstallCmd(g *globalOptions) *cobra.Command {
	o := &installOptions{}
	cmd := &cobra.Command{
		Use:   "install SRC",
		Short: "Install a plugin binary from a path or any storage URL into your plugin folder",
		Long: `Install a plugin binary into $XDG_DATA_HOME/mmbuild/plugins (default
~/.local/share/mmbuild/plugins) as mmbuild-plugin-<name>. SRC is a local path
or a URL served by an installed storage plugin (s3://, https://, file://...).
With --checksum the binary must have that sha256, or nothing is installed.
The binary is not executed. Pin it afterwards with: mmbuild plugins lock`,
		Example: `  mmbuild plugins install ./mmbuild-plugin-s3 --checksum sha256:9b1c…
  mmbuild plugins install https://example.com/dl/mmbuild-plugin-s3_linux_amd64 --name s3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return installPlugin(cmd.Context(), g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.checksum, "checksum", "", "expected sha256 of the binary (sha256:HEX); refused if it differs")
	f.StringVar(&o.name, "name", "", "plugin name (default: from the file name mmbuild-plugin-<name>)")
	f.StringVar(&o.dir, "dir", "", "plugin folder to install into (default: $XDG_DATA_HOME/mmbuild/plugins)")
	f.BoolVar(&o.allowUnpinned, "allow-unpinned", false, "let an unpinned storage plugin fetch SRC")
	f.StringVar(&o.maxSize, "max-size", "1GiB", "the most the binary may have (bytes, or a number with KiB, MiB, GiB): a source that sends more is cut off and nothing is installed")
	return cmd
}

func installPlugin(ctx context.Context, g *globalOptions, o *installOptions, src string) error {
	if o.checksum != "" {
		if _, err := lockfile.ParseSum(o.checksum); err != nil {
			return usageError{fmt.Errorf("--checksum: %w", err)}
		}
	}
	dest := o.dir
	if dest == "" {
		dest = discovery.UserDir()
	}
	maxSize, ok := config.ParseSize(o.maxSize)
	if !ok {
		return usageError{fmt.Errorf("--max-size: %q is not a size (like 1GiB or 500MB)", o.maxSize)}
	}
	req := install.Request{Source: src, Name: o.name, Checksum: o.checksum, DestDir: dest, MaxBytes: maxSize}
	if install.IsURL(src) {
		// The project in the current folder lends its storage plugins.
		host, err := project.OpenHost("", project.WithAllowUnpinned(o.allowUnpinned), project.WithLogger(g.logger()))
		if err != nil {
			return err
		}
		defer host.Close()
		req.Fetch = func(ctx context.Context, rawURL, dst string, maxBytes int64) error {
			return fetchURL(ctx, host, rawURL, dst, remote.WithMaxBytes(maxBytes))
		}
	}
	res, err := install.Install(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "installed %s as %s (%s)\npin it with: mmbuild plugins lock %s\n", src, res.Path, res.SHA256, res.Name)
	return nil
}

// fetchURL downloads one object through the storage plugin for its scheme.
func fetchURL(ctx context.Context, host *pluginhost.Host, rawURL, dst string, opts ...remote.GetOption) error {
	_, err := remote.New(remote.HostResolver(ctx, host), nil, nil).Get(ctx, rawURL, dst, opts...)
	return err
}
