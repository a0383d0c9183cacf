package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
	"github.com/mmbuild/mmbuild/sdk/handler"
)

// hashArtifacts hashes files in parallel and names each by its base name,
// which must be unique: it is the name the artifact is published under.
// Each file is copied into a fresh folder of the workspace (snapshots) as
// it is hashed, and the copy is what is published and catalogued: what
// leaves the machine is exactly the bytes that were hashed, whatever
// changes the work tree afterwards.
func hashArtifacts(ctx context.Context, files []string, what, snapshots string) ([]Artifact, error) {
	names := map[string]string{}
	for _, f := range files {
		n := filepath.Base(f)
		if prev, dup := names[n]; dup {
			return nil, fmt.Errorf("%s %s and %s would be published under the same name %s", what, prev, f, n)
		}
		names[n] = f
	}
	if err := os.MkdirAll(snapshots, 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	dir, err := os.MkdirTemp(snapshots, "s-")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	copies := make([]string, len(files))
	for i, f := range files {
		copies[i] = filepath.Join(dir, filepath.Base(f))
	}
	results, err := digest.CopyFiles(ctx, files, copies, digest.SHA512)
	if err != nil {
		return nil, err
	}
	out := make([]Artifact, len(results))
	for i, res := range results {
		out[i] = Artifact{Name: filepath.Base(res.Path), Path: res.Path, Digest: res.Digest, Size: res.Size, hashed: copies[i]}
	}
	return out, nil
}

// collect matches and hashes the artifacts.
func collect(ctx context.Context, t tools, cfg *config.Config, workDir string) ([]Artifact, error) {
	files, err := workspace.Match(workDir, cfg.Artifacts.Files, func(i int) string {
		return fmt.Sprintf("%s: artifacts.files[%d]", cfg.PositionOf(fmt.Sprintf("artifacts.files[%d]", i)), i)
	})
	if err != nil {
		return nil, err
	}
	arts, err := hashArtifacts(ctx, files, "artifacts", t.ws.Snapshots())
	if err != nil {
		return nil, err
	}
	for _, a := range arts {
		t.log.Info("artifact", "name", a.Name, "sha256", a.Digest[digest.SHA256], "bytes", a.Size)
	}
	return arts, nil
}

// transferSet is one transfer's files, hashed, and where they go.
type transferSet struct {
	destination string
	options     map[string]string
	files       []Artifact
}

// collectTransfers matches and hashes every transfer's sources.
func collectTransfers(ctx context.Context, tl tools, cfg *config.Config, workDir string) ([]transferSet, error) {
	var out []transferSet
	for ti, t := range cfg.Transfers {
		files, err := workspace.Match(workDir, t.Source, func(i int) string {
			return fmt.Sprintf("%s: transfers[%d].source[%d]", t.Pos, ti, i)
		})
		if err != nil {
			return nil, err
		}
		arts, err := hashArtifacts(ctx, files, fmt.Sprintf("transfers[%d] sources", ti), tl.ws.Snapshots())
		if err != nil {
			return nil, err
		}
		out = append(out, transferSet{destination: t.Destination, options: t.Options, files: arts})
	}
	return out, nil
}

// built is what the build stage leaves: the artifacts and the transfers'
// files, hashed, and when the build finished.
type built struct {
	artifacts []Artifact
	transfers []transferSet
	finished  time.Time
}

// subjects are every file the attestation covers: the artifacts, then each
// transfer's files.
func (b *built) subjects() []Artifact {
	out := append([]Artifact(nil), b.artifacts...)
	for _, t := range b.transfers {
		out = append(out, t.files...)
	}
	return out
}

// buildAndCollect applies the replacements, runs the builder, and hashes
// what it made.
func buildAndCollect(ctx context.Context, t tools, cfg *config.Config, in *prepared) (*built, error) {
	if err := applyReplacements(t, in.workDir, cfg.Replacements, in.secrets, in.running); err != nil {
		return nil, err
	}
	if a := in.plugins.isolation; a != nil {
		t.log.Info("the builder's box", "mechanism", a.Mechanism, "network", a.Network, "mode", a.Mode)
	}
	env := in.env
	if in.plugins.isolation != nil {
		// A landlock box's private HOME and TMPDIR (bubblewrap mounts
		// them at the paths the environment names).
		env.vars = isolation.SetEnv(env.vars, in.plugins.isolation.Env...)
	}
	buildErr := runBuilder(ctx, t, cfg.Handler, in.plugins.handler, in.workDir, env)
	// Nothing the build started outlives it: its box (setsid daemons and
	// double forks included) is gone before anything it made is hashed,
	// also when it failed or was interrupted.
	if err := in.plugins.handler.EndBox(context.WithoutCancel(ctx)); err != nil && buildErr == nil {
		return nil, err
	}
	if buildErr != nil {
		return nil, buildErr
	}
	arts, err := collect(ctx, t, cfg, in.workDir)
	if err != nil {
		return nil, err
	}
	transfers, err := collectTransfers(ctx, t, cfg, in.workDir)
	if err != nil {
		return nil, err
	}
	out := &built{artifacts: arts, transfers: transfers, finished: time.Now()}
	// A published name is public (URLs, build.env, the attestation): one
	// that holds a secret's value is refused, before anything is published.
	for _, a := range out.subjects() {
		if t.red.Contains(a.Name) {
			return nil, fmt.Errorf("the output %s would be published under a name that holds a secret's value: rename it", t.red.String(a.Name))
		}
	}
	return out, nil
}

// runBuilder runs the handler plugin in the work tree, its output redacted.
func runBuilder(ctx context.Context, t tools, h config.Handler, p *pluginhost.Plugin, workDir string, env builderEnv) error {
	if !slices.Contains(p.Info.Capabilities, handler.CapabilityProcessGroup) {
		t.log.Warn("the handler plugin does not announce "+handler.CapabilityProcessGroup+": stopping the build may leave its processes running", "plugin", p.Name)
	}
	t.log.Info("building", "handler", h.ID, "params", t.red.String(strings.Join(h.Params, " ")), "dir", workDir)
	resp, err := p.Conn.Handler().Build(ctx, &handler.BuildRequest{
		HandlerID: h.ID,
		WorkDir:   workDir,
		Params:    h.Params,
		Options:   h.Options,
		Env:       env.vars,
		Stdout:    t.red.Writer(t.stdout),
		Stderr:    t.red.Writer(t.stderr),
	})
	t.red.Flush()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("build with handler %q interrupted: %w", h.ID, ctx.Err())
		}
		return fmt.Errorf("build with handler %q: %w", h.ID, p.Explain(err))
	}
	if resp.ExitCode != 0 {
		return &BuildFailedError{ExitCode: resp.ExitCode}
	}
	return nil
}
