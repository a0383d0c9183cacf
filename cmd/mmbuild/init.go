package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/outfile"
	"github.com/mmbuild/mmbuild/core/build/starter"
)

type initOptions struct {
	dir, target string
	force       bool
}

func newInitCmd(g *globalOptions) *cobra.Command {
	o := &initOptions{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a starter mmbuild.yaml for the Makefile here and pin the installed plugins",
		Long: `Write a commented mmbuild.yaml for the Makefile in the folder: make runs its
default goal (.DEFAULT_GOAL, else its first target; --target picks another),
the artifacts go to out/published/ and the attestation to out/. Then pin the
installed plugins as mmbuild plugins lock does (mmbuild.lock.hcl in the
folder, or the one found above it up to the repository root), add what
mmbuild run writes into the folder (/out/, /build.env) to its .gitignore,
and print the next commands. An existing build config is never replaced unless --force is
given; nothing is written when the plugins cannot be pinned.`,
		Example: `  mmbuild init
  mmbuild init -C services/api --target release`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return initProject(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.dir, "dir", "C", "", "project folder, holding the Makefile (default: the current folder)")
	f.StringVar(&o.target, "target", "", "the make target to run (default: the Makefile's default goal)")
	f.BoolVar(&o.force, "force", false, "replace an existing build config")
	return cmd
}

func initProject(ctx context.Context, g *globalOptions, o *initOptions) error {
	dir := o.dir
	if dir == "" {
		dir = "."
	}
	makefile, data, err := readMakefile(dir)
	if err != nil {
		return err
	}
	dest := filepath.Join(dir, config.FileName)
	if !o.force {
		for _, name := range []string{config.FileName, config.LegacyFileName} {
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				return fmt.Errorf("%s exists: mmbuild init does not replace a build config (--force does)", filepath.Join(dir, name))
			}
		}
	}
	targets, goal := starter.Targets(data)
	if o.target != "" {
		goal = o.target
	}
	ignoreFile := filepath.Join(dir, ".gitignore")
	ignore, err := os.ReadFile(ignoreFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", ignoreFile, err)
	}
	ignore, ignored := starter.GitIgnore(ignore)
	// Pinned first: when that fails, nothing is written.
	if err := lockPlugins(ctx, g, dir, nil); err != nil {
		return err
	}
	// Through a temporary file and a rename, as every other output: a
	// symlinked mmbuild.yaml is replaced, not written through to the file
	// it points to.
	if err := outfile.WriteAtomic(dest, starter.Config(makefile, goal, targets), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	fmt.Fprintf(g.stdout, "wrote %s (make %s)\n", dest, goal)
	if len(ignored) > 0 {
		// What a run writes into the work tree must not make the next
		// run's tree dirty (never a cache hit) nor end up in a commit.
		if err := outfile.WriteAtomic(ignoreFile, ignore, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", ignoreFile, err)
		}
		fmt.Fprintf(g.stdout, "added %s to %s (what mmbuild run writes here)\n", strings.Join(ignored, " "), ignoreFile)
	}
	fmt.Fprintf(g.stdout, "\nnext:\n")
	fmt.Fprintf(g.stdout, "  %-48s # after setting artifacts.files to what make builds\n", "mmbuild validate")
	fmt.Fprintf(g.stdout, "  %-48s # build, attest, publish to out/published/\n", "mmbuild run")
	fmt.Fprintf(g.stdout, "  %-48s # commit the config and the pins\n", "git add mmbuild.yaml mmbuild.lock.hcl .gitignore")
	fmt.Fprintf(g.stdout, "  (git-ignore what make builds, dist/ too: a run in a dirty tree is never a cache hit)\n")
	return nil
}

// readMakefile reads the Makefile of dir, under the first name make reads.
func readMakefile(dir string) (name string, data []byte, err error) {
	for _, name := range starter.Makefiles {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return name, data, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, name), err)
		}
	}
	return "", nil, fmt.Errorf("no Makefile in %s: mmbuild init writes the config of a make build", dir)
}
