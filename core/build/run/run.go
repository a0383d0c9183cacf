package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/progress"
	"github.com/mmbuild/mmbuild/core/build/redact"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

// File names of the evidence, locally and at the destination
// (evidence.StatementName and its siblings).
const (
	StatementName = evidence.StatementName
	BundleName    = evidence.BundleName
	SigstoreName  = evidence.SigstoreName
	// SBOMName is the SPDX SBOM's; sbom.FileName gives each format's.
	SBOMName = "sbom.spdx.json"
)

// Result is the outcome of a run.
type Result struct {
	StagingKey    string
	StagingURL    string // destination + staging key; empty without a destination
	Statement     *provenance.Record
	StatementPath string   // local copy; empty without provenance:
	BundlePath    string   // signed .intoto.jsonl beside it, when signed or with an SBOM
	SBOMPaths     []string // the SBOMs beside it (SPDX, CycloneDX), when asked for
	SigstorePath  string   // Sigstore bundle (v0.3) of the provenance beside it, when signed
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
	// hashed is the copy of the bytes that were hashed, in the workspace:
	// what is published and catalogued.
	hashed string
}

// snapshot reports whether Bytes is the core's read-only snapshot of the
// hashed bytes, which nothing writes until the run ends.
func (a Artifact) snapshot() bool { return a.hashed != "" }

// Bytes is the file holding exactly the bytes that were hashed: the copy
// the run made, else the work tree's file.
func (a Artifact) Bytes() string {
	if a.hashed != "" {
		return a.hashed
	}
	return a.Path
}

// BuildFailedError reports a builder that ran and exited non-zero.
type BuildFailedError struct{ ExitCode int }

func (e *BuildFailedError) Error() string {
	return fmt.Sprintf("build failed: the builder exited with status %d", e.ExitCode)
}

// Run executes the build cfg describes. Every error it returns has the
// run's secret values scrubbed from its message.
func Run(ctx context.Context, cfg *config.Config, opts ...Option) (*Result, error) {
	o := newOptions(opts)
	if o.host == nil {
		return nil, errors.New("run: no plugin host")
	}
	red := o.red
	if red == nil {
		red = redact.New()
	}
	res, err := run(ctx, cfg, o, red)
	if err != nil {
		return nil, red.Err(err)
	}
	return res, nil
}

// tools are the services every stage may use and none changes: made
// before the first stage and only read after. They are where a run's
// bytes and messages go (the logger, the redactor every byte passes, the
// workspace, the builder's output streams, transfer progress), shared by
// stages that run at once, and none of them changes what a run decides or
// computes. What the run decides from its config and options is in the
// plan; everything a stage computes is returned and passed on explicitly.
type tools struct {
	log            hclog.Logger
	red            *redact.Redactor
	ws             *workspace.Workspace
	stdout, stderr io.Writer         // the builder's output
	progress       progress.Reporter // transfer progress
}

// run is the build, stage by stage (DESIGN §2): plan → plugins → secrets →
// source → env → [cache] → materials → [cache] → replacements → build →
// collect → images → attest → sign/SBOM → publish (artifacts, transfers,
// attached to images, statement last) → outputs. The cache is looked up
// before any material is fetched when every material's sha256 is given.
func run(ctx context.Context, cfg *config.Config, o *options, red *redact.Redactor) (*Result, error) {
	started := time.Now()
	p, err := makePlan(cfg, o.host)
	if err != nil {
		return nil, err
	}
	if err := p.settle(cfg, o); err != nil {
		return nil, err
	}
	ws, err := workspace.New(o.tempDir, o.keepWorkspace)
	if err != nil {
		return nil, err
	}
	defer ws.Close()
	t := tools{log: o.logger, red: red, ws: ws, stdout: o.stdout, stderr: o.stderr, progress: o.progress}
	spec, err := boxSpec(cfg, p, ws)
	if err != nil {
		return nil, err
	}
	late := expectHandler(cfg, p, o.host, spec)
	pending := startPlugins(ctx, t, o.host, p, spec, late) // concurrently with the local set-up
	tree, err := workTree(t, cfg, p.workDir)
	if err != nil {
		return nil, err
	}
	if pending.late != nil && tree != nil && !tree.cacheable() {
		pending.late.begin(ctx) // never a cache hit: the handler is needed
	}
	ps, err := pending.wait(cfg, p)
	if err != nil {
		return nil, err
	}
	in, err := prepare(ctx, t, cfg, ps, p, tree)
	if err != nil {
		return nil, err
	}
	mats, key, cached, err := materialsAndCache(ctx, t, cfg, p, in)
	if err != nil || cached != nil {
		return cached, err
	}
	out, err := buildAndCollect(ctx, t, cfg, in)
	if err != nil {
		return nil, err
	}
	if err := checkArtifactNames(cfg, out.artifacts); err != nil {
		return nil, err
	}
	imgs, err := resolveImages(ctx, t, cfg, in.store, in.workDir)
	if err != nil {
		return nil, err
	}
	ev, err := makeEvidence(ctx, t, cfg, in, attested{mats, out, imgs, key, started})
	if err != nil {
		return nil, err
	}
	return publishAndRecord(ctx, t, cfg, in, key, out, imgs, ev)
}

// publishAndRecord stages the local outputs (so that a local failure
// happens before the first byte is published), publishes, checks that the
// destination holds exactly what this run published, and then puts the
// local outputs in place.
func publishAndRecord(ctx context.Context, t tools, cfg *config.Config, in *prepared, key stagingKey, out *built, imgs []image, ev *evidence.Evidence) (*Result, error) {
	res := planResult(key, out, ev)
	local, err := stageLocal(t, cfg, in.outDir, in.outputs, ev, res)
	if err != nil {
		return nil, err
	}
	defer local.discard()
	// Another run of the same key publishing at once can interleave its
	// uploads with ours. The run that publishes last leaves a consistent
	// build; a run that finds the destination inconsistent publishes
	// again, so that it never ends leaving its own attestation beside
	// another run's bytes.
	for attempt := 1; ; attempt++ {
		if err := publish(ctx, t, in.store, cfg, res, out, imgs, ev); err != nil {
			return nil, err
		}
		err := verifyPublished(ctx, t, in.store, cfg, key, ev)
		// Another run caught half-way through its publish completes it
		// in a moment, leaving its own consistent build, which is as
		// good as ours: look again before publishing again, at random
		// moments, so that runs colliding once do not collide again.
		for look := 0; errors.Is(err, ErrConcurrentPublish) && look < settleLooks; look++ {
			if werr := waitJittered(ctx, attempt); werr != nil {
				return nil, werr
			}
			err = verifyPublished(ctx, t, in.store, cfg, key, ev)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, ErrConcurrentPublish) || attempt == maxPublishAttempts {
			return nil, err
		}
		t.log.Warn("the destination changed while publishing (another run of this staging key): publishing again", "staging_url", in.store.Shown(key.url))
	}
	return res, local.commit()
}

// maxPublishAttempts bounds how often a run publishes again after finding
// the destination changed under it; settleLooks how often it looks again,
// after a pause, before publishing again.
const (
	maxPublishAttempts = 5
	settleLooks        = 2
)

// waitJittered pauses between 100 and 400 ms times attempt.
func waitJittered(ctx context.Context, attempt int) error {
	d := time.Duration(attempt) * (100*time.Millisecond + time.Duration(mrand.Int64N(int64(300*time.Millisecond))))
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
