package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagNames lists a command's flags as "name" or "name/-s".
func flagNames(cmd *cobra.Command) []string {
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		n := f.Name
		if f.Shorthand != "" {
			n += "/-" + f.Shorthand
		}
		names = append(names, n)
	})
	slices.Sort(names)
	return names
}

// run, build and pipeline run share their flags; only the documented ones
// differ.
func TestRunFlags(t *testing.T) {
	root := newRootCmd(&globalOptions{})
	find := func(path ...string) *cobra.Command {
		c, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	shared := []string{"allow-unpinned", "builder-id", "identity-token", "isolation", "json", "keep-workspace", "keyless", "network", "require-digests", "sbom", "sign-key", "signing-config", "slsa", "trusted-root"}
	for _, tc := range []struct {
		cmd  *cobra.Command
		own  []string
		name string
	}{
		{find("run"), []string{"file/-f", "force", "output-env", "summary", "workdir/-w"}, "run"},
		{find("build"), []string{"conf", "force/-f", "output-env", "summary", "workdir/-w"}, "build"},
		{find("pipeline", "run"), []string{"force"}, "pipeline run"},
	} {
		want := append(slices.Clone(shared), tc.own...)
		slices.Sort(want)
		if got := flagNames(tc.cmd); !slices.Equal(got, want) {
			t.Errorf("%s flags:\n got %v\nwant %v", tc.name, got, want)
		}
	}
}

// The legacy spelling: --conf FILE, -f forces.
func TestBuildFlagsLegacy(t *testing.T) {
	o := &runFlags{}
	f := pflag.NewFlagSet("build", pflag.ContinueOnError)
	o.addFlags(f, buildCmd)
	if err := f.Parse([]string{"--conf", "ci/mmbuild.yaml", "-f", "-w", "src", "--sbom"}); err != nil {
		t.Fatal(err)
	}
	if o.file != "ci/mmbuild.yaml" || !o.force || o.workDir != "src" || !o.sbom {
		t.Fatalf("parsed %+v", o)
	}
}

func TestRunOptions(t *testing.T) {
	var stdout, stderr bytes.Buffer
	g := &globalOptions{stdout: &stdout, stderr: &stderr}
	opts, prog, err := (&runFlags{force: true, json: true}).runOptions(context.Background(), g, hclog.NewNullLogger())
	if err != nil || len(opts) == 0 || prog == nil {
		t.Fatalf("runOptions: %d options, %v, %v", len(opts), prog, err)
	}
	prog.Close()
	if cap(opts) != len(opts) {
		t.Error("the options can be appended to in place: a pipeline's builds would share their tails")
	}
	missing := filepath.Join(t.TempDir(), "mmbuild.key")
	_, _, err = (&runFlags{signKey: missing}).runOptions(context.Background(), g, hclog.NewNullLogger())
	if err == nil || !strings.Contains(err.Error(), "--sign-key") {
		t.Fatalf("a missing --sign-key: %v", err)
	}
}
