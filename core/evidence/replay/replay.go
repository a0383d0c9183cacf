// Package replay rebuilds what an attestation records and compares the new
// subjects with the recorded ones, bit for bit. The attestation is untrusted
// input: it chooses a repository, a builder, arguments and URLs, so it is
// verified (signature and shape), and what it records is checked against
// the config at the recorded commit, before anything it names is run. Its
// values are data: never expanded (see check.go).
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/run"
	"github.com/mmbuild/mmbuild/core/build/source"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
)

// ErrRefused reports an attestation that failed verification: nothing was
// run.
var ErrRefused = errors.New("attestation refused")

// Subject is one recorded artifact and what the replay produced for it.
type Subject struct {
	Name     string            `json:"name"`
	Recorded map[string]string `json:"recorded"`
	Rebuilt  map[string]string `json:"rebuilt,omitempty"`
	Match    bool              `json:"match"`
	Missing  bool              `json:"missing,omitempty"`
	// Rebuilt file, kept for inspection when it differs.
	Path string `json:"path,omitempty"`
}

// Result is the outcome of a replay that ran.
type Result struct {
	Reproducible bool      `json:"reproducible"`
	Commit       string    `json:"commit"`
	Repo         string    `json:"repo"`
	Signed       bool      `json:"signed"`
	KeyIDs       []string  `json:"key_ids,omitempty"`
	Subjects     []Subject `json:"subjects"`
	// Differing lists the names of the subjects that differ or are missing.
	Differing []string `json:"differing,omitempty"`
	// Workspace holds the rebuilt tree when something differs.
	Workspace string `json:"workspace,omitempty"`
	// Diffoscope is true when diffoscope compared the differing artifacts.
	Diffoscope bool `json:"diffoscope,omitempty"`
	// Plan is what the replay ran (or, with DryRun, would run).
	Plan   *Plan `json:"plan,omitempty"`
	DryRun bool  `json:"dry_run,omitempty"`
	// ResourceURI is where the subjects are: the staging URL the build
	// published them at, else its source (the VSA's resourceUri).
	ResourceURI string `json:"resource_uri,omitempty"`
}

type options struct {
	verifiers     []signing.Verifier
	keyless       *signing.Keyless
	threshold     int
	allowUnsigned bool
	runOpts       []run.Option
	lookupEnv     func(string) (string, bool)
	tempDir       string
	configPath    string
	logger        hclog.Logger
	fetch         FetchFunc
	diffOut       io.Writer
	onPlan        func(*Plan)
	dryRun        bool
	openPlugins   func([]Plugin) (*pluginhost.Host, error)
}

// FetchFunc downloads the object at a URL to dest.
type FetchFunc func(ctx context.Context, rawURL, dest string) error

// Option configures Replay.
type Option func(*options)

// WithKeys sets the keys the attestation must be signed with.
func WithKeys(v ...signing.Verifier) Option {
	return func(o *options) { o.verifiers = append(o.verifiers, v...) }
}

// WithKeyless accepts an attestation signed keylessly by one of k's
// identities (a Sigstore bundle), besides the keys of WithKeys.
func WithKeyless(k *signing.Keyless) Option { return func(o *options) { o.keyless = k } }

// WithThreshold sets how many distinct keys must have signed. Default 1.
func WithThreshold(n int) Option { return func(o *options) { o.threshold = n } }

// WithAllowUnsigned accepts an unsigned statement (or no keys to check).
func WithAllowUnsigned(b bool) Option { return func(o *options) { o.allowUnsigned = b } }

// WithRunOptions passes options (plugin host, output, logger) to the build.
func WithRunOptions(opts ...run.Option) Option {
	return func(o *options) { o.runOpts = append(o.runOpts, opts...) }
}

// WithLookupEnv sets how secrets declared by environment variable are read
// today. Default: os.LookupEnv.
func WithLookupEnv(f func(string) (string, bool)) Option { return func(o *options) { o.lookupEnv = f } }

// WithTempDir sets where the clean workspace is made. Default: os.TempDir().
func WithTempDir(dir string) Option { return func(o *options) { o.tempDir = dir } }

// WithConfig replays with this build config instead of the one at the
// recorded entry point (for builds whose config lives outside the source).
func WithConfig(path string) Option { return func(o *options) { o.configPath = path } }

// WithDiffoscope runs diffoscope (when installed) on every differing
// artifact against the original, fetched with fetch from the staging URL
// the attestation records, writing its report to w.
func WithDiffoscope(fetch FetchFunc, w io.Writer) Option {
	return func(o *options) { o.fetch, o.diffOut = fetch, w }
}

// WithPlan calls f with what the replay will run, once the attestation
// was checked against the config at the recorded commit and before
// anything runs.
func WithPlan(f func(*Plan)) Option { return func(o *options) { o.onPlan = f } }

// WithDryRun stops the replay once its plan is made: the attestation is
// verified, the recorded commit cloned and its config checked, nothing is
// built. The Result then has DryRun set and no subjects.
func WithDryRun(b bool) Option { return func(o *options) { o.dryRun = b } }

// WithLogger sets the logger. Default: discarded.
func WithLogger(l hclog.Logger) Option { return func(o *options) { o.logger = l } }

var commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Load verifies an attestation (statement, envelope or .intoto.jsonl
// bundle) and returns its provenance statement, the ids of the keys that
// verified it, and whether keys did. It never runs anything.
func Load(data []byte, opts ...Option) (*provenance.Record, []string, bool, error) {
	o := newOptions(opts)
	a, err := attestation.Open(data, attestation.Options{Verifiers: o.verifiers, Keyless: o.keyless, Threshold: o.threshold, AllowUnsigned: o.allowUnsigned})
	if err != nil {
		return nil, nil, false, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	// Only the provenance statement is acted on: the other statements of a
	// bundle (an SBOM) are neither needed nor trusted.
	st, err := a.Pick(provenance.PredicateTypes...)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if st.Err != nil {
		return nil, nil, false, refusal(st.Err)
	}
	prov, err := verify.ParseStatement(st.Payload)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if err := checkShape(prov); err != nil {
		return nil, nil, false, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return prov, st.KeyIDs, st.Verified, nil
}

// refusal says why the statement was refused in the words of the replay
// command's flags.
func refusal(err error) error {
	switch {
	case errors.Is(err, attestation.ErrNoKey):
		return fmt.Errorf("%w: %w (give the signer's public key with --key, or --allow-unsigned to replay without checking who made it)", ErrRefused, err)
	case errors.Is(err, attestation.ErrUnsigned):
		return fmt.Errorf("%w: %w, but --key was given", ErrRefused, err)
	}
	return fmt.Errorf("%w: %w", ErrRefused, err)
}

var handlerIDPattern = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)

// checkShape refuses a statement that names anything a replay could not
// run safely.
func checkShape(st *provenance.Record) error {
	if !strings.HasPrefix(st.BuildType, provenance.BuildTypePrefix) {
		return fmt.Errorf("buildType %q is not an mmbuild build type", st.BuildType)
	}
	inv, err := st.Invocation()
	if err != nil {
		return err
	}
	if !handlerIDPattern.MatchString(inv.Handler) {
		return fmt.Errorf("the recorded handler %q is not a handler id", inv.Handler)
	}
	_, commit, err := splitConfigSource(st.Source.URI)
	if err != nil {
		return err
	}
	if st.Source.Digest["sha1"] != commit {
		return fmt.Errorf("the source's digest sha1 %q does not match the commit in its URI %s", st.Source.Digest["sha1"], commit)
	}
	ep := st.EntryPoint
	if ep == "" || filepath.IsAbs(ep) || strings.HasPrefix(ep, "/") || strings.Contains("/"+ep+"/", "/../") {
		return fmt.Errorf("the entry point %q is not a path inside the source", ep)
	}
	if imgs := st.Config.Images; len(imgs) > 0 {
		// The builder pushed them: rebuilding would push again, to the
		// tags the config names, and an image is not compared bit for bit.
		return fmt.Errorf("the build pushed %d image(s) (artifacts.images): a replay would push them again, which it never does; replaying builds with images is not supported", len(imgs))
	}
	if len(st.Subjects) == 0 {
		return errors.New("no subjects to compare")
	}
	for _, s := range st.Subjects {
		if !workspace.PlainName(s.URI) {
			return fmt.Errorf("subject name %q is not a plain file name", s.URI)
		}
	}
	return nil
}

// splitConfigSource splits "git+<repo>@<commit>".
func splitConfigSource(uri string) (string, string, error) {
	if !strings.HasPrefix(uri, "git+") {
		if strings.HasPrefix(uri, "file://") {
			return "", "", fmt.Errorf("the attestation records an unversioned work tree (%s): there is no commit to replay from a clean checkout", uri)
		}
		return "", "", fmt.Errorf("configSource.uri %q is not git+<repo>@<commit>", uri)
	}
	i := strings.LastIndexByte(uri, '@')
	if i < 0 {
		return "", "", fmt.Errorf("configSource.uri %q has no @<commit>", uri)
	}
	repo, commit := strings.TrimPrefix(uri[:i], "git+"), uri[i+1:]
	if !commitPattern.MatchString(commit) {
		return "", "", fmt.Errorf("configSource.uri %q: %q is not a full commit id", uri, commit)
	}
	if u, err := url.Parse(repo); err != nil || (u.Scheme == "" && !filepath.IsAbs(repo)) {
		return "", "", fmt.Errorf("configSource.uri %q: repository %q is not a URL or an absolute path", uri, repo)
	}
	return repo, commit, nil
}

func newOptions(opts []Option) *options {
	o := &options{threshold: 1, lookupEnv: os.LookupEnv, logger: hclog.NewNullLogger()}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Replay verifies the attestation, clones the recorded commit, checks the
// recorded invocation against the config there (a difference is a refusal,
// ErrRefused), reports the plan (WithPlan), rebuilds in a clean workspace
// and compares. An error means the replay could not be made; a Result with
// Reproducible false means it was made and differs; with WithDryRun it
// stops after the plan.
func Replay(ctx context.Context, data []byte, opts ...Option) (*Result, error) {
	o := newOptions(opts)
	st, keyIDs, signed, err := Load(data, opts...)
	if err != nil {
		return nil, err
	}
	repo, commit, _ := splitConfigSource(st.Source.URI)
	res := &Result{Commit: commit, Repo: repo, Signed: signed, KeyIDs: keyIDs, ResourceURI: st.Config.StagingURL}
	if res.ResourceURI == "" {
		res.ResourceURI = st.Source.URI
	}
	rec, err := recordedInvocation(st)
	if err != nil {
		return nil, err
	}

	root, err := os.MkdirTemp(o.tempDir, "mmbuild-replay-")
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			_ = os.RemoveAll(root)
		}
	}()
	clone := filepath.Join(root, "source")
	o.logger.Info("replay: cloning the recorded source", "repo", repo, "commit", commit)
	if _, err := source.Clone(ctx, clone, repo, commit, "", nil); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}

	cfg, cfgPath, plan, err := o.recordedConfig(clone, st, rec)
	if err != nil {
		return nil, err
	}
	plan.Repo, plan.Commit = repo, commit
	plan.EntryPoint, plan.Config = st.EntryPoint, o.configPath
	res.Plan = plan
	if o.onPlan != nil {
		o.onPlan(plan)
	}
	if o.dryRun {
		res.DryRun = true
		return res, nil
	}

	runOpts := o.runOpts
	if o.openPlugins != nil {
		host, err := o.pluginHost(st)
		if err != nil {
			return nil, err
		}
		runOpts = append(runOpts[:len(runOpts):len(runOpts)], run.WithHost(host))
	}
	// The rebuild runs in the box the original ran in: same mode, same
	// network (whatever the config at the commit or the flags then said).
	if box := st.Config.Isolation; box != nil { // its shape was checked by Decode
		runOpts = append(runOpts[:len(runOpts):len(runOpts)], run.WithIsolation(box.Mode, box.Network))
	}
	out, err := o.rebuild(ctx, cfg, cfgPath, root, clone, runOpts)
	if err != nil {
		return nil, err
	}
	rebuilt := make(map[string]Artifact, len(out.Artifacts))
	for _, a := range out.Artifacts {
		rebuilt[a.Name] = Artifact{Digest: a.Digest, Path: a.Path}
	}
	c := Compare(st.Subjects, rebuilt)
	res.Subjects, res.Differing, res.Reproducible = c.Subjects, c.Differing, c.Reproducible
	if !res.Reproducible {
		keep = true
		res.Workspace = root
		res.Diffoscope = o.diffoscope(ctx, st, root, res)
	}
	return res, nil
}

// rebuild runs the rewritten config in the clean clone: the same stages as
// any run, forced, with exactly the recorded environment, publishing
// nothing.
func (o *options) rebuild(ctx context.Context, cfg *config.Config, cfgPath, root, clone string, extra []run.Option) (*run.Result, error) {
	runOpts := append([]run.Option{
		run.WithWorkDir(filepath.Dir(cfgPath)),
		run.WithOutputEnv(filepath.Join(root, "build.env")),
		run.WithForce(true),
		run.WithoutBaseEnv(),
		run.WithLookupEnv(o.lookupEnv),
	}, extra...)
	if o.configPath != "" {
		runOpts = append(runOpts, run.WithWorkDir(clone))
	}
	withoutSigning(cfg)
	out, err := run.Run(ctx, cfg, runOpts...)
	if err != nil {
		return nil, fmt.Errorf("replay: the build: %w", err)
	}
	return out, nil
}

// withoutSigning drops the config's signing: and the secret only it uses.
// The rebuild publishes nothing, so its statement needs no signature, and
// a replay must never need the original builder's key (which, rightly, is
// not in the repository nor in the replayer's hands). The replayer signs
// the verdict (the VSA) with its own key instead.
func withoutSigning(cfg *config.Config) {
	s := cfg.Signing
	if s == nil {
		return
	}
	cfg.Signing = nil
	if s.KeySecret == "" || secretUsed(cfg, s.KeySecret) {
		return
	}
	kept := cfg.Secrets[:0]
	for _, sec := range cfg.Secrets {
		if sec.Name != s.KeySecret {
			kept = append(kept, sec)
		}
	}
	cfg.Secrets = kept
}

// secretUsed reports whether anything but signing: takes the secret.
func secretUsed(cfg *config.Config, name string) bool {
	for _, e := range cfg.Env {
		if e.ValueFrom != nil && e.ValueFrom.Secret == name {
			return true
		}
	}
	for _, r := range cfg.Replacements {
		if r.ValueFrom != nil && r.ValueFrom.Secret == name {
			return true
		}
	}
	for _, c := range cfg.Credentials {
		if c.Secret == name {
			return true
		}
		for _, sec := range c.Secrets {
			if sec == name {
				return true
			}
		}
	}
	return false
}

// recordedConfig loads the config at the recorded entry point of the clone
// (or the one WithConfig gives), checks the recorded invocation against it
// and rewrites it into the recorded build (see rewrite).
func (o *options) recordedConfig(clone string, st *provenance.Record, rec *invocation) (*config.Config, string, *Plan, error) {
	var err error
	_, commit, _ := splitConfigSource(st.Source.URI)
	where := "the config at " + commit
	cfgPath := o.configPath
	if cfgPath == "" {
		if cfgPath, err = workspace.Join(clone, st.EntryPoint); err != nil {
			return nil, "", nil, fmt.Errorf("replay: entry point: %w", err)
		}
	} else {
		where = "the config " + cfgPath + " (--config)"
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, "", nil, fmt.Errorf("replay: the recorded config: %w (use --config when the config is not in the source)", err)
	}
	plan, err := rewrite(cfg, rec, where)
	if err != nil {
		return nil, "", nil, err
	}
	return cfg, cfgPath, plan, nil
}

// diffoscope compares each differing artifact with the published original.
// It reports whether it ran; it is an aid, never a reason to fail.
func (o *options) diffoscope(ctx context.Context, st *provenance.Record, root string, res *Result) bool {
	if o.fetch == nil || o.diffOut == nil {
		return false
	}
	bin, err := exec.LookPath("diffoscope")
	if err != nil {
		return false
	}
	stagingURL := st.Config.StagingURL
	if stagingURL == "" {
		return false
	}
	ran := false
	for _, s := range res.Subjects {
		if s.Match || s.Missing {
			continue
		}
		orig := filepath.Join(root, "original", s.Name)
		if err := os.MkdirAll(filepath.Dir(orig), 0o755); err != nil {
			continue
		}
		if err := o.fetch(ctx, strings.TrimSuffix(stagingURL, "/")+"/"+s.Name, orig); err != nil {
			o.logger.Warn("replay: could not fetch the original for diffoscope", "artifact", s.Name, "error", err)
			continue
		}
		cmd := exec.CommandContext(ctx, bin, orig, s.Path)
		cmd.Stdout, cmd.Stderr = o.diffOut, o.diffOut
		_ = cmd.Run() // diffoscope exits 1 when files differ
		ran = true
	}
	return ran
}
