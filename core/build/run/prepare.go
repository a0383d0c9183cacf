package run

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/source"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// prepared is everything the run knows once its inputs other than the
// materials are resolved: the output of prepare, the input of every later
// stage.
type prepared struct {
	invocationID string
	plugins      *plugins
	store        *remote.Store // with the credentials of the resolved secrets
	secrets      map[string]string
	src          source.Info
	workDir      string // where the builder runs
	outDir       string // where provenance: and build.env go
	env          builderEnv
	signers      []signing.Signer
	facts        attestFacts // settled by the plan
	outputs      outputPaths // the plan's, with the dotenv file's place
	running      environ     // the environment, as the plan read it
}

// prepare runs the stages before the materials: secrets (a git source may
// need one), source, env, and the signing key (a bad key fails the run
// before anything is built).
func prepare(ctx context.Context, t tools, cfg *config.Config, ps *plugins, p *plan, tree *localTree) (*prepared, error) {
	in := &prepared{invocationID: provenance.NewInvocationID(), plugins: ps, facts: p.facts, outputs: p.outputs, running: p.running}
	base := remote.New(ps.resolve, t.progress, t.red)
	secrets, err := resolveSecrets(ctx, t, base, cfg, p.running)
	if err != nil {
		return nil, err
	}
	if err := refuseSecretURLs(t, cfg); err != nil {
		return nil, err
	}
	in.secrets = secrets
	in.store = base.WithCredentials(remote.Credentials(cfg.Credentials, secrets))
	if tree != nil {
		in.src, in.workDir = tree.src, tree.dir
	} else if in.src, in.workDir, err = cloneSource(ctx, t, cfg, p.workDir, secrets); err != nil {
		return nil, err
	}
	in.outDir = in.workDir
	if cfg.Source != nil {
		// The clone lives in the workspace and is removed after the run.
		in.outDir = filepath.Dir(cfg.Path)
	}
	if in.outputs.env == "" {
		in.outputs.env = filepath.Join(in.outDir, DefaultOutputEnv)
	}
	if in.env, err = buildEnv(t, p.running, p.baseEnv, cfg.Env, secrets, in.src); err != nil {
		return nil, err
	}
	if in.signers, err = loadSigners(ctx, cfg, p.signing, secrets); err != nil {
		return nil, err
	}
	if len(cfg.Artifacts.Images) > 0 && len(in.signers) == 0 {
		return nil, fmt.Errorf("%s: artifacts.images needs a signing key (signing: or --sign-key): the attestation attached to an image is worth its signature only", cfg.PositionOf("artifacts.images"))
	}
	return in, nil
}

// localTree is the work tree a run without source: builds in, and what
// git says of it.
type localTree struct {
	src source.Info
	dir string
}

// cacheable reports whether a build of the tree can be found in the cache:
// a clean git checkout, named by its commit.
func (l *localTree) cacheable() bool { return l.src.Commit != "" && !l.src.Dirty }

// workTree records the work tree the build runs in: workDir (--workdir;
// "" for the config's folder). It is nil with a git source, which is
// cloned (cloneSource).
func workTree(t tools, cfg *config.Config, workDir string) (*localTree, error) {
	if cfg.Source != nil {
		return nil, nil
	}
	if workDir == "" {
		workDir = filepath.Dir(cfg.Path)
	}
	abs, err := filepath.Abs(workDir)
	if err != nil {
		return nil, err
	}
	info, err := source.WorkTree(abs)
	if err != nil {
		return nil, err
	}
	if info.Dirty {
		t.log.Warn("the work tree has uncommitted changes: recorded as dirty, build not cacheable", "commit", info.Commit)
	}
	return &localTree{src: info, dir: abs}, nil
}

// cloneSource clones the configured git source into the workspace. It
// returns the source and the folder the builder runs in: the root of the
// clone, or workDir (--workdir) relative to it.
func cloneSource(ctx context.Context, t tools, cfg *config.Config, workDir string, secrets map[string]string) (source.Info, string, error) {
	src := cfg.Source
	var auth *source.Auth
	if src.CredentialsSecret != "" {
		tok, ok := secrets[src.CredentialsSecret]
		if !ok {
			return source.Info{}, "", fmt.Errorf("%s: source.credentialsSecret: secret %q is not declared", src.Pos, src.CredentialsSecret)
		}
		auth = &source.Auth{Token: tok}
	}
	dest := filepath.Join(t.ws.Root, "source")
	rev := src.Commit
	if rev == "" {
		rev = src.Ref
	}
	t.log.Info("cloning source", "repo", t.red.String(source.StripCredentials(src.Repo)), "revision", rev)
	info, err := source.Clone(ctx, dest, src.Repo, src.Commit, src.Ref, auth)
	if err != nil {
		return source.Info{}, "", fmt.Errorf("%s: source: %w", src.Pos, err)
	}
	t.log.Info("source checked out", "commit", info.Commit)
	// The build runs at the root of the clone, or in --workdir relative to it.
	if workDir == "" {
		return info, dest, nil
	}
	if filepath.IsAbs(workDir) {
		return source.Info{}, "", fmt.Errorf("%s: with source:, --workdir must be relative to the clone, not %s", src.Pos, workDir)
	}
	wd, err := workspace.Join(dest, workDir)
	if err != nil {
		return source.Info{}, "", fmt.Errorf("--workdir: %w", err)
	}
	return info, wd, nil
}
