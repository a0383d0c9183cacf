package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/build/outfile"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/run"
	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/replay"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/plugins/install"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
	"github.com/mmbuild/mmbuild/core/plugins/project"
)

// notReproducibleError carries the replay verdict to the exit code.
type notReproducibleError struct{ differing []string }

func (e *notReproducibleError) Error() string {
	return fmt.Sprintf("not reproducible: %d artifact(s) differ: %v", len(e.differing), e.differing)
}

type replayOptions struct {
	keys          []string
	threshold     int
	allowUnsigned bool
	allowUnpinned bool
	config        string
	json          bool
	dryRun        bool
	vsaDir        string
	signKey       string
	identity      identityFlags
}

func newReplayCmd(g *globalOptions) *cobra.Command {
	o := &replayOptions{}
	cmd := &cobra.Command{
		Use:   "replay ATTESTATION",
		Short: "Rebuild what an attestation records and prove it reproduces",
		Long: `Replay the build an attestation records and compare every artifact bit for bit.

ATTESTATION is a statement, a DSSE envelope or an .intoto.jsonl bundle, from a
path or any storage URL. It is untrusted input: it is verified first (its
signature with --key, or --allow-unsigned to skip that loudly, and its shape)
before anything it names is run. Then, in a clean workspace: the recorded
source is cloned at the recorded commit, the config at the recorded entry
point is used with the recorded handler, params and environment (secrets are
resolved again by name from today's backends, never taken from the
attestation), the materials are fetched again and checked against the
recorded digests, and nothing is published. The plugins are those the
attestation records (name and sha256), found among the installed plugins: a
verifier needs no lock file, and is told which recorded plugin is missing or
installed as a different build.

The attestation's values are data, never expanded: the config at the recorded
commit is expanded first (its ${VAR}s from the recorded environment; a
variable it neither declares nor the attestation records is refused, except
inside a material's URI, where the recorded URI says what it was), then the
recorded handler, params, handler options, environment names and values,
secrets and materials must agree with it: any difference is refused, named,
before anything runs. What will run is printed first; --dry-run stops there.

A replay never needs the original build's signing key: the config's signing:
is ignored (the rebuild publishes nothing). With --vsa DIR the verdict is
written as a SLSA Verification Summary Attestation (vsa.json: verifier,
time, resourceUri, policy, the attestation replayed with its sha256,
PASSED/FAILED, each artifact's outcome), signed with the replayer's own
--sign-key as vsa.intoto.jsonl and vsa.sigstore.json; mmbuild verify reads
it back. A FAILED verdict is written too.

Exit status: 0 reproducible, 4 not reproducible (the differing artifacts are
listed, and diffoscope is run on them when installed), 1 could not replay.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(cmd, g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.keys, "key", nil, "public key (PEM) the attestation must be signed with; repeatable")
	f.IntVar(&o.threshold, "threshold", 1, "how many distinct --key signatures are required")
	o.identity.addFlags(f)
	f.BoolVar(&o.allowUnsigned, "allow-unsigned", false, "replay without checking the signature (who made the attestation is then unknown)")
	f.BoolVar(&o.allowUnpinned, "allow-unpinned", false, "start plugins the attestation does not record (and, to fetch it from a URL, plugins without an entry in mmbuild.lock.hcl)")
	f.StringVar(&o.config, "config", "", "build config to use instead of the one at the recorded entry point")
	f.BoolVar(&o.json, "json", false, "print the result as JSON on stdout (with its \"plan\")")
	f.BoolVar(&o.dryRun, "dry-run", false, "verify and check the attestation and print what would run, then stop: nothing is built")
	f.StringVar(&o.vsaDir, "vsa", "", "write the verdict as a SLSA VSA into this folder (vsa.json; signed with --sign-key also vsa.intoto.jsonl and vsa.sigstore.json)")
	f.StringVar(&o.signKey, "sign-key", "", "the replayer's private key (PEM) to sign the VSA with (needs --vsa); never the original build's key")
	return cmd
}

func runReplay(cmd *cobra.Command, g *globalOptions, o *replayOptions, src string) error {
	ctx := cmd.Context()
	logger := g.logger()
	var signers []signing.Signer
	switch {
	case o.signKey != "" && o.vsaDir == "":
		return fmt.Errorf("--sign-key signs the verdict: give --vsa DIR to write it")
	case o.vsaDir != "" && o.dryRun:
		return fmt.Errorf("--vsa: a dry run verifies nothing, there is no verdict to write")
	case o.signKey != "":
		s, err := loadSigner(ctx, o.signKey)
		if err != nil {
			return err
		}
		signers = append(signers, s)
	}
	// This folder's plugins fetch an attestation given by URL; the
	// rebuild's are those the attestation records (rebuildHost).
	host, err := project.OpenHost("", project.WithAllowUnpinned(o.allowUnpinned), project.WithLogger(logger))
	if err != nil {
		return err
	}
	defer host.Close()
	data, err := readAttestation(ctx, host, src)
	if err != nil {
		return err
	}
	rebuild := &rebuildHost{allowUnpinned: o.allowUnpinned, logger: logger, fallback: host}
	defer rebuild.close()
	opts, err := o.replayOptions(g, logger, rebuild)
	if err != nil {
		return err
	}
	// The plan is printed before anything runs: on stdout, or on stderr
	// when stdout carries the JSON result.
	planOut := g.stdout
	if o.json {
		planOut = g.stderr
	}
	opts = append(opts, replay.WithDryRun(o.dryRun), replay.WithPlan(func(p *replay.Plan) { printPlan(planOut, p) }))
	res, err := replay.Replay(ctx, data, opts...)
	if err != nil {
		return err
	}
	if res.DryRun {
		return printDryRun(g, res, o.json)
	}
	if o.vsaDir != "" {
		if err := writeVerdict(ctx, g, o.vsaDir, res, src, data, signers); err != nil {
			return err
		}
	}
	if err := printReplay(g, res, o.json); err != nil {
		return err
	}
	if !res.Reproducible {
		return &notReproducibleError{differing: res.Differing}
	}
	return nil
}

// writeVerdict writes the replay's VSA files into dir, all or none.
func writeVerdict(ctx context.Context, g *globalOptions, dir string, res *replay.Result, src string, data []byte, signers []signing.Signer) error {
	uri := src
	if install.IsURL(src) {
		uri = remote.Redact(src)
	} else if abs, err := filepath.Abs(src); err == nil {
		uri = "file://" + filepath.ToSlash(abs)
	}
	files, err := replay.Verdict(ctx, res, uri, data, time.Now(), signers...)
	if err != nil {
		return err
	}
	out := make([]outfile.File, 0, len(files))
	for _, f := range files {
		out = append(out, outfile.File{Path: filepath.Join(dir, f.Name), Data: f.Data})
	}
	if err := outfile.WriteAll(out, 0o644); err != nil {
		return fmt.Errorf("--vsa: %w", err)
	}
	verdict := "PASSED"
	if !res.Reproducible {
		verdict = "FAILED"
	}
	for _, f := range out {
		fmt.Fprintf(g.stderr, "mmbuild: VSA (%s) %s\n", verdict, f.Path)
	}
	return nil
}

// readAttestation reads src, a path or a storage URL fetched through host,
// within the attestation size limit (attestation.ReadFile).
func readAttestation(ctx context.Context, host *pluginhost.Host, src string) ([]byte, error) {
	if install.IsURL(src) {
		tmp, err := os.MkdirTemp("", "mmbuild-attestation-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dst := filepath.Join(tmp, "attestation")
		if err := fetchURL(ctx, host, src, dst); err != nil {
			return nil, fmt.Errorf("fetching attestation: %w", err)
		}
		src = dst
	}
	return attestation.ReadFile(src)
}

// rebuildHost is the host of the plugins the attestation records, found
// among the installed ones (project.OpenRecorded): a replay needs no lock
// file. Until the attestation is read, fallback stands in (to fetch the
// originals for diffoscope).
type rebuildHost struct {
	allowUnpinned bool
	logger        hclog.Logger
	fallback      *pluginhost.Host
	host          *pluginhost.Host
}

func (r *rebuildHost) open(recorded []replay.Plugin) (*pluginhost.Host, error) {
	pins := make([]project.Recorded, len(recorded))
	for i, p := range recorded {
		pins[i] = project.Recorded{Name: p.Name, Version: p.Version, SHA256: p.SHA256}
	}
	p, err := project.OpenRecorded("", pins, project.WithAllowUnpinned(r.allowUnpinned), project.WithLogger(r.logger))
	if err != nil {
		return nil, err
	}
	r.host = p.Host()
	return r.host, nil
}

func (r *rebuildHost) current() *pluginhost.Host {
	if r.host != nil {
		return r.host
	}
	return r.fallback
}

func (r *rebuildHost) close() {
	if r.host != nil {
		r.host.Close()
	}
}

// replayOptions turns the flags into replay options; the rebuild starts its
// plugins with the recorded ones (rebuild) and prints to stderr.
func (o *replayOptions) replayOptions(g *globalOptions, logger hclog.Logger, rebuild *rebuildHost) ([]replay.Option, error) {
	opts := []replay.Option{
		replay.WithThreshold(o.threshold),
		replay.WithAllowUnsigned(o.allowUnsigned),
		replay.WithLogger(logger),
		replay.WithRunOptions(run.WithLogger(logger), run.WithOutput(g.stderr, g.stderr), run.WithRedactor(g.red)),
		replay.WithPlugins(rebuild.open),
	}
	keys, err := loadKeys(o.keys)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		opts = append(opts, replay.WithKeys(keys...))
	}
	keyless, err := o.identity.keyless()
	if err != nil {
		return nil, err
	}
	if keyless != nil {
		opts = append(opts, replay.WithKeyless(keyless))
	}
	if len(o.keys) == 0 && keyless == nil && o.allowUnsigned {
		logger.Warn("replaying WITHOUT checking who made the attestation (--allow-unsigned)")
	}
	if o.config != "" {
		opts = append(opts, replay.WithConfig(o.config))
	}
	opts = append(opts, replay.WithDiffoscope(func(ctx context.Context, rawURL, dst string) error {
		return fetchURL(ctx, rebuild.current(), rawURL, dst)
	}, g.stderr))
	return opts, nil
}

// printReplay prints the verdict on every artifact: JSON with --json.
func printReplay(g *globalOptions, res *replay.Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	for _, s := range res.Subjects {
		state := "reproducible"
		switch {
		case s.Missing:
			state = "MISSING"
		case !s.Match:
			state = "DIFFERS"
		}
		fmt.Fprintf(g.stdout, "%-13s %s  recorded sha256:%s  rebuilt sha256:%s\n", state, s.Name, s.Recorded["sha256"], orDash(s.Rebuilt["sha256"]))
	}
	verdict := "reproducible"
	if !res.Reproducible {
		verdict = "NOT reproducible (rebuilt tree kept in " + res.Workspace + ")"
	}
	fmt.Fprintf(g.stdout, "%s@%s: %s\n", res.Repo, res.Commit, verdict)
	return nil
}

// printPlan prints what the replay runs: the commit, the handler, its
// params and options, the environment (secrets by where they are resolved
// again, never a value) and the materials with their digests.
func printPlan(w io.Writer, p *replay.Plan) {
	fmt.Fprintf(w, "replay plan: %s@%s (%s)\n", p.Repo, p.Commit, planConfig(p))
	fmt.Fprintf(w, "  handler   %s\n", p.Handler)
	fmt.Fprintf(w, "  params    %s\n", quotedList(p.Params))
	if len(p.Options) > 0 {
		keys := make([]string, 0, len(p.Options))
		for k := range p.Options {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  option    %s=%q\n", k, p.Options[k])
		}
	}
	for _, v := range p.Env {
		switch {
		case v.Secret:
			fmt.Fprintf(w, "  env       %s  (secret, resolved again from %s)\n", v.Name, v.From)
		case v.Name == run.MaterialsDirVar:
			fmt.Fprintf(w, "  env       %s  (the replay's materials folder)\n", v.Name)
		default:
			own := ""
			if !v.Declared {
				own = "  (the run's own)"
			}
			fmt.Fprintf(w, "  env       %s=%q%s\n", v.Name, v.Value, own)
		}
	}
	for _, m := range p.Materials {
		fmt.Fprintf(w, "  material  %s  %s\n", remote.Redact(m.URI), digestList(m.Digest))
	}
}

// planConfig names the config the plan was checked against.
func planConfig(p *replay.Plan) string {
	if p.Config != "" {
		return "config " + p.Config
	}
	return "config " + p.EntryPoint + " at that commit"
}

func quotedList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// digestList is "sha256:… sha512:…", sorted by algorithm.
func digestList(d map[string]string) string {
	algs := make([]string, 0, len(d))
	for a := range d {
		algs = append(algs, a)
	}
	sort.Strings(algs)
	for i, a := range algs {
		algs[i] = a + ":" + d[a]
	}
	s := strings.Join(algs, " ")
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s) // the attestation's, shown only as text
		}
	}
	return s
}

// printDryRun ends a --dry-run: the plan was printed; JSON with --json.
func printDryRun(g *globalOptions, res *replay.Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			DryRun bool         `json:"dry_run"`
			Repo   string       `json:"repo"`
			Commit string       `json:"commit"`
			Signed bool         `json:"signed"`
			KeyIDs []string     `json:"key_ids,omitempty"`
			Plan   *replay.Plan `json:"plan"`
		}{true, res.Repo, res.Commit, res.Signed, res.KeyIDs, res.Plan})
	}
	fmt.Fprintf(g.stdout, "%s@%s: dry run, nothing built\n", res.Repo, res.Commit)
	return nil
}
