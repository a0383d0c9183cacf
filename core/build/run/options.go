package run

import (
	"io"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/build/progress"
	"github.com/mmbuild/mmbuild/core/build/redact"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
)

type options struct {
	host           *pluginhost.Host
	workDir        string
	stdout, stderr io.Writer
	logger         hclog.Logger
	lookupEnv      func(string) (string, bool)
	force          bool
	builderID      string
	requireDigests bool
	outputEnv      string
	inputs         []string
	keepWorkspace  bool
	tempDir        string
	progress       progress.Reporter
	noBaseEnv      bool
	signers        []signing.Signer
	keyless        signing.KeylessConfig // the command line's files; LookupEnv unused
	keylessAlways  bool                  // --keyless: over the config's signing:
	sbom           bool
	slsa           provenance.Format
	toolVersion    string
	red            *redact.Redactor
	isolation      isolation.Request // what is set overrides the config's isolation:
	hidden         []string
}

// Option configures Run.
type Option func(*options)

// WithIsolation sets the box's mode and network over the config's
// isolation: (--isolation, --network); an empty field keeps the config's.
func WithIsolation(mode isolation.Mode, network isolation.Network) Option {
	return func(o *options) { o.isolation.Mode, o.isolation.Network = mode, network }
}

// WithHiddenFiles names files the build must never see besides those the
// config names (the --sign-key file): the box masks them.
func WithHiddenFiles(paths ...string) Option {
	return func(o *options) { o.hidden = append(o.hidden, paths...) }
}

// WithHost sets the plugin host the run starts its plugins with. Required.
func WithHost(h *pluginhost.Host) Option { return func(o *options) { o.host = h } }

// WithWorkDir sets the work tree. Default: the config file's folder.
func WithWorkDir(dir string) Option { return func(o *options) { o.workDir = dir } }

// WithOutput sets where the builder's output streams. Default: os.Stdout
// and os.Stderr.
func WithOutput(stdout, stderr io.Writer) Option {
	return func(o *options) { o.stdout, o.stderr = stdout, stderr }
}

// WithLogger sets the run's logger. Default: discarded.
func WithLogger(l hclog.Logger) Option { return func(o *options) { o.logger = l } }

// WithLookupEnv sets the running environment. Default: os.LookupEnv. The
// plan reads it once, for the variables the run uses (settleEnv).
func WithLookupEnv(f func(string) (string, bool)) Option { return func(o *options) { o.lookupEnv = f } }

// WithForce builds even when the destination already holds this build.
func WithForce(force bool) Option { return func(o *options) { o.force = force } }

// WithBuilderID sets the attestation's builder.id. Default:
// $MMBUILD_BUILDER_ID, else provenance.DefaultBuilderID.
func WithBuilderID(id string) Option { return func(o *options) { o.builderID = id } }

// WithRequireDigests refuses materials that have no digest in the config.
func WithRequireDigests(b bool) Option { return func(o *options) { o.requireDigests = b } }

// WithOutputEnv sets the dotenv file written for the next build.
// Default: build.env in the work tree.
func WithOutputEnv(path string) Option { return func(o *options) { o.outputEnv = path } }

// WithInputs names files of the project, beyond its config, that no local
// output may replace or append to: the lock file. Default: the config only.
func WithInputs(paths ...string) Option {
	return func(o *options) { o.inputs = append(o.inputs, paths...) }
}

// WithKeepWorkspace keeps the run's scratch folder for inspection.
func WithKeepWorkspace(keep bool) Option { return func(o *options) { o.keepWorkspace = keep } }

// WithProgress sets where transfer progress is reported. Default: nowhere.
func WithProgress(p progress.Reporter) Option { return func(o *options) { o.progress = p } }

// WithSigners signs the attestation with these keys, over the config's
// signing: entry.
func WithSigners(s ...signing.Signer) Option {
	return func(o *options) { o.signers = append(o.signers, s...) }
}

// WithKeyless sets keyless signing's identity token file and Sigstore
// instance (--identity-token, --signing-config, --trusted-root) over the
// config's signing:, and with always signs keylessly even when the config
// does not ask for it (--keyless). The token is looked up with the run's
// environment (WithLookupEnv) first.
func WithKeyless(c signing.KeylessConfig, always bool) Option {
	return func(o *options) { o.keyless, o.keylessAlways = c, always }
}

// WithSBOM writes and attests an SPDX SBOM of the artifacts, as sbom: true.
func WithSBOM(b bool) Option { return func(o *options) { o.sbom = b } }

// WithSLSA sets the provenance format, overriding the config's slsa:.
// Default: the config's, else provenance.V02.
func WithSLSA(f provenance.Format) Option { return func(o *options) { o.slsa = f } }

// WithToolVersion is mmbuild's version, recorded as builder.version of a
// SLSA v1 statement.
func WithToolVersion(v string) Option { return func(o *options) { o.toolVersion = v } }

// WithoutBaseEnv gives the builder only the declared environment, without
// the base taken from the running environment (replay: the recorded
// environment is the whole environment).
func WithoutBaseEnv() Option { return func(o *options) { o.noBaseEnv = true } }

// WithRedactor sets the redactor that learns the run's secret values, so
// that the caller's own output (its logger, its --json) passes the same
// one. Default: a redactor of the run's own.
func WithRedactor(r *redact.Redactor) Option { return func(o *options) { o.red = r } }

// WithTempDir sets where the run's workspace is created. Default:
// os.TempDir().
func WithTempDir(dir string) Option { return func(o *options) { o.tempDir = dir } }

func newOptions(opts []Option) *options {
	o := &options{
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		logger:    hclog.NewNullLogger(),
		lookupEnv: os.LookupEnv,
		progress:  progress.Nop{},
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}
