package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/source"
	"github.com/mmbuild/mmbuild/core/build/stagingkey"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// StatementName is the file name of the attestation, locally and at the
// destination.
const StatementName = "provenance.json"

// Result is the outcome of a run.
type Result struct {
	StagingKey    string
	StagingURL    string // destination + staging key; empty without a destination
	Statement     *provenance.Statement
	StatementPath string // local copy; empty without provenance:
	BundlePath    string // signed .intoto.jsonl beside it, when signed or with an SBOM
	SBOMPath      string // SPDX SBOM beside it, when asked for
	Artifacts     []Artifact
	Cached        bool // the destination already held this build
	OutputEnvPath string
}

// Artifact is one build output.
type Artifact struct {
	Name   string // as published
	Path   string // in the work tree
	Digest digest.Set
	Size   int64
	URL    string // where it was published; empty without a destination
}

// BuildFailedError reports a builder that ran and exited non-zero.
type BuildFailedError struct{ ExitCode int }

func (e *BuildFailedError) Error() string {
	return fmt.Sprintf("build failed: the builder exited with status %d", e.ExitCode)
}

// Run executes the build cfg describes.
func Run(ctx context.Context, cfg *config.Config, opts ...Option) (*Result, error) {
	o := newOptions(opts)
	if o.host == nil {
		return nil, errors.New("run: no plugin host")
	}
	r := &runner{cfg: cfg, o: o, redact: newRedactor()}
	res, err := r.run(ctx)
	if err != nil {
		return nil, r.redact.err(err)
	}
	return res, nil
}

type runner struct {
	cfg    *config.Config
	o      *options
	redact *redactor

	invocationID string
	started      time.Time
	workDir      string
	ws           *workspace.Workspace
	plan         *plan
	plugins      map[string]*pluginhost.Plugin
	src          source.Info
	env          []string
	secretNames  map[string]bool
	secrets      map[string]string
	materials    []fetchedMaterial
}

func newInvocationID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	r.started = time.Now()
	r.invocationID = newInvocationID()
	log := r.o.logger

	// plan
	p, err := makePlan(r.cfg)
	if err != nil {
		return nil, err
	}
	r.plan = p
	if err := r.checkCredentials(); err != nil {
		return nil, err
	}
	if len(r.cfg.Artifacts.Files) == 0 {
		return nil, fmt.Errorf("%s: artifacts.files is empty: a build must produce at least one artifact to attest", r.cfg.Artifacts.Pos)
	}
	// Start every plugin the run needs, concurrently with the local work
	// below (workspace, source, environment).
	type started struct {
		m   map[string]*pluginhost.Plugin
		err error
	}
	startCh := make(chan started, 1)
	go func() {
		m, err := r.o.host.StartAll(ctx, p.pluginNames())
		startCh <- started{m, err}
	}()

	r.workDir = r.o.workDir
	if r.workDir == "" {
		r.workDir = filepath.Dir(r.cfg.Path)
	}
	if r.workDir, err = filepath.Abs(r.workDir); err != nil {
		return nil, err
	}
	if r.ws, err = workspace.New(r.o.tempDir, r.o.keepWorkspace); err != nil {
		return nil, err
	}
	defer r.ws.Close()

	st := <-startCh
	if st.err != nil {
		return nil, r.whyPlugin(st.err)
	}
	r.plugins = st.m
	if err := r.checkKinds(); err != nil {
		return nil, err
	}

	// secrets (a git source may need one)
	secrets, err := r.resolveSecrets(ctx)
	if err != nil {
		return nil, err
	}

	// source
	if err := r.source(ctx, secrets); err != nil {
		return nil, err
	}

	// env
	if err := r.buildEnv(secrets); err != nil {
		return nil, err
	}
	// A bad signing key fails the run before anything is built.
	signers, err := r.signers(secrets)
	if err != nil {
		return nil, err
	}

	// materials
	if err := r.fetchMaterials(ctx); err != nil {
		return nil, err
	}

	key, cacheable, err := r.stagingKey()
	if err != nil {
		return nil, err
	}
	res := &Result{StagingKey: key}
	if r.cfg.Artifacts.Destination != "" {
		res.StagingURL = joinURL(r.cfg.Artifacts.Destination, key)
	}

	// cache
	if cacheable && res.StagingURL != "" && !r.o.force {
		hit, err := r.lookupCache(ctx, res)
		if err != nil {
			return nil, err
		}
		if hit {
			log.Info("the destination already holds this build: skipping it (use --force to rebuild)", "staging_url", res.StagingURL)
			if err := r.writeOutputs(res); err != nil {
				return nil, err
			}
			return res, nil
		}
	}

	// replacements
	if err := r.applyReplacements(secrets); err != nil {
		return nil, err
	}

	// build
	if err := r.build(ctx); err != nil {
		return nil, err
	}

	// collect
	arts, err := r.collect(ctx)
	if err != nil {
		return nil, err
	}
	res.Artifacts = arts
	transfers, err := r.collectTransfers(ctx)
	if err != nil {
		return nil, err
	}
	finished := time.Now()

	// attest
	stmt, data, err := r.attest(res, transfers, key, cacheable, finished)
	if err != nil {
		return nil, err
	}
	res.Statement = stmt
	subjects := append([]Artifact(nil), arts...)
	for _, t := range transfers {
		subjects = append(subjects, t.files...)
	}
	trust, err := r.trust(ctx, data, subjects, finished, signers)
	if err != nil {
		return nil, err
	}
	// publish: artifacts, then transfers, then the attestation last.
	if err := r.publish(ctx, res, transfers, data, trust); err != nil {
		return nil, err
	}

	// The local copies only once everything is published: a failed run
	// leaves no attestation that could be mistaken for a complete build.
	if r.cfg.Provenance != "" {
		dir, err := workspace.Join(r.outputDir(), r.cfg.Provenance)
		if err != nil {
			return nil, fmt.Errorf("%s: provenance: %w", r.cfg.PositionOf("provenance"), err)
		}
		for _, f := range []struct {
			name string
			data []byte
		}{{SBOMName, trust.sbom}, {BundleName, trust.bundle}, {StatementName, data}} {
			if f.data == nil {
				continue
			}
			if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
				return nil, fmt.Errorf("writing %s: %w", f.name, err)
			}
		}
		res.StatementPath = filepath.Join(dir, StatementName)
		if trust.bundle != nil {
			res.BundlePath = filepath.Join(dir, BundleName)
		}
		if trust.sbom != nil {
			res.SBOMPath = filepath.Join(dir, SBOMName)
		}
	}

	// outputs
	if err := r.writeOutputs(res); err != nil {
		return nil, err
	}
	return res, nil
}

// checkKinds makes sure each started plugin serves what it was started for.
func (r *runner) checkKinds() error {
	h := r.plugins[r.plan.handlerPlugin]
	if kind := "handler:" + r.cfg.Handler.ID; !h.Info.HasKind(kind) {
		return fmt.Errorf("%s: handler.id %q: plugin %s (%s) does not serve %s (it serves %s)",
			r.cfg.Handler.Pos, r.cfg.Handler.ID, h.Name, h.Path, kind, strings.Join(h.Info.Kinds, ", "))
	}
	for scheme, name := range r.plan.storages {
		p := r.plugins[name]
		if kind := "storage:" + scheme; !p.Info.HasKind(kind) {
			return fmt.Errorf("%s:// URLs: plugin %s (%s) does not serve %s (it serves %s)",
				scheme, p.Name, p.Path, kind, strings.Join(p.Info.Kinds, ", "))
		}
	}
	return nil
}

func (r *runner) storageFor(rawURL string) (storage.Storage, *pluginhost.Plugin, error) {
	scheme, err := schemeOf(rawURL, "")
	if err != nil {
		return nil, nil, err
	}
	p, ok := r.plugins[StoragePlugin(scheme)]
	if !ok {
		return nil, nil, fmt.Errorf("no storage plugin started for %s://", scheme)
	}
	return p.Conn.Storage(), p, nil
}

// build runs the handler plugin in the work tree.
func (r *runner) build(ctx context.Context) error {
	h := r.plugins[r.plan.handlerPlugin]
	r.o.logger.Info("building", "handler", r.cfg.Handler.ID, "params", strings.Join(r.cfg.Handler.Params, " "), "dir", r.workDir)
	resp, err := h.Conn.Handler().Build(ctx, &handler.BuildRequest{
		HandlerID: r.cfg.Handler.ID,
		WorkDir:   r.workDir,
		Params:    r.cfg.Handler.Params,
		Env:       r.env,
		Stdout:    r.redact.writer(r.o.stdout),
		Stderr:    r.redact.writer(r.o.stderr),
	})
	r.redact.flush()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("build with handler %q interrupted: %w", r.cfg.Handler.ID, ctx.Err())
		}
		return fmt.Errorf("build with handler %q: %w", r.cfg.Handler.ID, h.Explain(err))
	}
	if resp.ExitCode != 0 {
		return &BuildFailedError{ExitCode: resp.ExitCode}
	}
	return nil
}

func joinURL(base, elem string) string {
	return strings.TrimSuffix(base, "/") + "/" + elem
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, mode)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
	}
	return werr
}

// stagingKey computes the key once every material digest is known.
func (r *runner) stagingKey() (string, bool, error) {
	cfgBytes, err := os.ReadFile(r.cfg.Path)
	if err != nil {
		return "", false, fmt.Errorf("reading %s: %w", r.cfg.Path, err)
	}
	cfgSum, _, err := digest.Reader(strings.NewReader(string(cfgBytes)))
	if err != nil {
		return "", false, err
	}
	in := stagingkey.Inputs{
		Source:       "unversioned:" + r.invocationID,
		ConfigSHA256: cfgSum[digest.SHA256],
		HandlerID:    r.cfg.Handler.ID,
		Params:       r.cfg.Handler.Params,
		PluginSHA256: r.plugins[r.plan.handlerPlugin].SHA256,
	}
	if r.src.Commit != "" && !r.src.Dirty {
		in.Source = "git:" + r.src.Commit
	}
	for _, m := range r.materials {
		in.Materials = append(in.Materials, stagingkey.Material{URI: m.uri, Digest: m.digest})
	}
	// The declared environment and the values replacements take from the
	// environment are inputs too; secrets enter by name only.
	built := map[string]string{}
	for _, kv := range r.env {
		k, v, _ := strings.Cut(kv, "=")
		built[k] = v
	}
	for _, e := range r.cfg.Env {
		v, ok := built[e.Var]
		if !ok {
			continue
		}
		if r.secretNames[e.Var] {
			v = redactText
		}
		in.Env = append(in.Env, [2]string{e.Var, v})
	}
	for _, rep := range r.cfg.Replacements {
		if rep.ValueFrom != nil && rep.ValueFrom.Env != "" {
			v, _ := r.o.lookupEnv(rep.ValueFrom.Env)
			in.Env = append(in.Env, [2]string{"replacement:" + rep.ValueFrom.Env, r.redact.string(v)})
		}
	}
	return stagingkey.Key(in), stagingkey.Cacheable(in), nil
}

// source clones the configured git source into the workspace and builds
// there, or records the work tree the build runs in.
func (r *runner) source(ctx context.Context, secrets map[string]string) error {
	src := r.cfg.Source
	if src == nil {
		info, err := source.WorkTree(r.workDir)
		if err != nil {
			return err
		}
		if info.Dirty {
			r.o.logger.Warn("the work tree has uncommitted changes: recorded as dirty, build not cacheable", "commit", info.Commit)
		}
		r.src = info
		return nil
	}
	var auth *source.Auth
	if src.CredentialsSecret != "" {
		tok, ok := secrets[src.CredentialsSecret]
		if !ok {
			return fmt.Errorf("%s: source.credentialsSecret: secret %q is not declared", src.Pos, src.CredentialsSecret)
		}
		auth = &source.Auth{Token: tok}
	}
	dest := filepath.Join(r.ws.Root, "source")
	rev := src.Commit
	if rev == "" {
		rev = src.Ref
	}
	r.o.logger.Info("cloning source", "repo", source.StripCredentials(src.Repo), "revision", rev)
	info, err := source.Clone(ctx, dest, src.Repo, src.Commit, src.Ref, auth)
	if err != nil {
		return fmt.Errorf("%s: source: %w", src.Pos, err)
	}
	r.o.logger.Info("source checked out", "commit", info.Commit)
	r.src = info
	// The build runs at the root of the clone, or in --workdir relative to it.
	r.workDir = dest
	if r.o.workDir != "" {
		if filepath.IsAbs(r.o.workDir) {
			return fmt.Errorf("%s: with source:, --workdir must be relative to the clone, not %s", src.Pos, r.o.workDir)
		}
		wd, err := workspace.Join(dest, r.o.workDir)
		if err != nil {
			return fmt.Errorf("--workdir: %w", err)
		}
		r.workDir = wd
	}
	return nil
}

// outputDir is where provenance: and build.env are written: the work tree,
// or, when the build runs in a clone of source:, the config's folder (the
// clone lives in the workspace and is removed after the run).
func (r *runner) outputDir() string {
	if r.cfg.Source != nil {
		return filepath.Dir(r.cfg.Path)
	}
	return r.workDir
}

// whyPlugin says what a plugin that could not be found was needed for.
func (r *runner) whyPlugin(err error) error {
	var nf *discovery.NotFoundError
	if !errors.As(err, &nf) {
		return err
	}
	if nf.Name == r.plan.handlerPlugin {
		return fmt.Errorf("%s: handler.id %q needs the plugin mmbuild-plugin-%s: %w", r.cfg.Handler.Pos, r.cfg.Handler.ID, nf.Name, err)
	}
	for scheme, name := range r.plan.storages {
		if name == nf.Name {
			return fmt.Errorf("%s:// URLs need the storage plugin mmbuild-plugin-%s: %w", scheme, name, err)
		}
	}
	return err
}
