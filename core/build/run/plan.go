package run

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

// resolver names the plugin serving a handler id or a URL scheme: the
// plugin host, which knows it from the lock file.
type resolver interface {
	HandlerPlugin(id string) (string, error)
	StoragePlugin(scheme string) (string, error)
	CatalogerPlugin(id string) (string, error)
	// PinnedCatalogers lists the cataloger ids the lock pins, sorted.
	PinnedCatalogers() []string
}

// plan is what a run needs before it starts anything: the plugins, and
// everything the run derives from its config, options and environment,
// settled here once (settle). No stage reads the options.
type plan struct {
	// facts are what the attestation records that the run derives from
	// its config, options and environment.
	facts attestFacts
	// outputs are where the run's local outputs go, as far as the plan
	// knows them (the dotenv file's folder is known once the source is).
	outputs outputPaths
	// running is the running environment as far as the run reads it.
	running environ
	// baseEnv gives the builder the BaseEnv variables of running (not
	// under WithoutBaseEnv: replay's recorded environment is all of it).
	baseEnv bool
	// workDir is --workdir as given: "" for the config's folder, or the
	// clone's root with source: (then it is relative to the clone).
	workDir string
	// box is the box the run asks for (boxRequest).
	box isolation.Request
	// hidden are files the build must never see besides those the config
	// names (WithHiddenFiles: the --sign-key file).
	hidden []string
	// signing is how the statement is signed, over the config's signing:.
	signing signingPlan
	// force builds even when the cache holds the build; requireDigests
	// refuses a material without a digest.
	force, requireDigests bool

	handlerPlugin string
	// catalogerID is the cataloger the SBOM is made with: sbom.generator,
	// else the one the lock pins for a plain sbom: true; "" without one.
	catalogerID string
	// catalogerPlugin serves catalogerID; "" without one.
	catalogerPlugin string
	// storages maps each scheme the run uses to its plugin name.
	storages map[string]string
}

// pluginNames lists every plugin the run starts, handler first, then the
// storage plugins in the order of their schemes.
func (p *plan) pluginNames() []string {
	names := []string{p.handlerPlugin}
	seen := map[string]bool{p.handlerPlugin: true}
	if c := p.catalogerPlugin; c != "" && !seen[c] {
		seen[c] = true
		names = append(names, c)
	}
	schemes := make([]string, 0, len(p.storages))
	for s := range p.storages {
		schemes = append(schemes, s)
	}
	sort.Strings(schemes)
	for _, s := range schemes {
		if n := p.storages[s]; !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}

// otherPlugins are the plugins the run starts besides its handler's box:
// the storage plugins and the cataloger (the handler's plugin too when it
// also serves one of them: that use runs outside the box).
func (p *plan) otherPlugins() []string {
	names := p.pluginNames()[1:]
	for _, n := range p.storages {
		if n == p.handlerPlugin {
			return append(names, n)
		}
	}
	if p.catalogerPlugin == p.handlerPlugin {
		return append(names, p.handlerPlugin)
	}
	return names
}

// makePlan resolves the handler and every storage scheme of cfg to a
// plugin, and refuses what no run of cfg could do (a URL without a scheme
// or with a password, credentials no plugin takes, nothing to attest).
// CheckConfig refuses what no run of cfg could do, whatever plugins are
// installed: a URL without a scheme or with credentials, nothing to
// attest. `mmbuild validate` and every run check it.
func CheckConfig(cfg *config.Config) error {
	for _, u := range planURLs(cfg) {
		if _, err := remote.Scheme(u.url, u.where); err != nil {
			return err
		}
	}
	for i, f := range cfg.Artifacts.Files {
		// A pattern whose last element is literal names the artifact; a
		// glob's matches are checked after the build (checkArtifactNames).
		if base := filepath.Base(f); !strings.ContainsAny(base, "*?[{\\") {
			if err := checkArtifactName(base); err != nil {
				path := fmt.Sprintf("artifacts.files[%d]", i)
				return fmt.Errorf("%s: %s: %w", cfg.PositionOf(path), path, err)
			}
		}
	}
	if len(cfg.Artifacts.Files) == 0 && len(cfg.Artifacts.Images) == 0 {
		return fmt.Errorf("%s: artifacts.files is empty: a build must produce at least one artifact to attest (add artifacts: {files: [...]} or artifacts: {images: [...]})", cfg.PositionOf("artifacts.files"))
	}
	return nil
}

func makePlan(cfg *config.Config, r resolver) (*plan, error) {
	if err := CheckConfig(cfg); err != nil {
		return nil, err
	}
	if err := qualifyImages(cfg, r); err != nil {
		return nil, err
	}
	h, err := r.HandlerPlugin(cfg.Handler.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: handler.id %q: %w", cfg.Handler.Pos, cfg.Handler.ID, err)
	}
	p := &plan{handlerPlugin: h, storages: map[string]string{}}
	if p.catalogerID = catalogerID(cfg, r); p.catalogerID != "" {
		if p.catalogerPlugin, err = r.CatalogerPlugin(p.catalogerID); err != nil {
			return nil, fmt.Errorf("%s: sbom.generator %q: %w", cfg.SBOM.Pos, p.catalogerID, err)
		}
	}
	for _, u := range planURLs(cfg) {
		scheme, err := remote.Scheme(u.url, u.where)
		if err != nil {
			return nil, err
		}
		if u.secret && (scheme == "env" || scheme == "file") {
			continue // read by the core itself
		}
		if _, done := p.storages[scheme]; done {
			continue
		}
		name, err := r.StoragePlugin(scheme)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u.where, err)
		}
		p.storages[scheme] = name
	}
	return p, nil
}

// GeneratorNone is the sbom.generator that asks for an SBOM of the
// artifacts' own checksums only, even where a cataloger is pinned.
const GeneratorNone = "none"

// attestFacts are settled once, in the plan: the SLSA version to write
// (--slsa, else the config's slsa:, else v0.2), the builder id
// (--builder-id, else $MMBUILD_BUILDER_ID, else the CI runner's), the CI
// job's facts, whether SBOMs are written (sbom:, or --sbom), and mmbuild's
// version.
type attestFacts struct {
	format      provenance.Format
	builderID   string
	ci          *cifacts.Facts
	sbom        bool
	toolVersion string
}

// outputPaths are where a run leaves its local outputs: the dotenv file
// (--output-env, else build.env in the output folder), $GITHUB_OUTPUT
// ("" outside GitHub Actions), and the project's files no output may
// replace (the config, the lock).
type outputPaths struct {
	env, github string
	inputs      []string
}

// settle settles what the run derives from cfg and the options o, once:
// after it, nothing reads o but the run's set-up (the plugin host, the
// workspace, the tools).
func (p *plan) settle(cfg *config.Config, o *options) error {
	var err error
	if p.facts, err = settleFacts(cfg, o); err != nil {
		return err
	}
	if p.box, err = boxRequest(cfg, o.isolation); err != nil {
		return err
	}
	p.outputs = settleOutputs(cfg, o)
	p.running = settleEnv(cfg, o.lookupEnv)
	p.baseEnv = !o.noBaseEnv
	p.workDir = o.workDir
	p.hidden = o.hidden
	p.signing = settleSigning(cfg, o, p.running)
	p.force, p.requireDigests = o.force, o.requireDigests
	return nil
}

// settleOutputs reads where the outputs go, once.
func settleOutputs(cfg *config.Config, o *options) outputPaths {
	out := outputPaths{env: o.outputEnv, inputs: append([]string{cfg.Path}, o.inputs...)}
	out.github, _ = o.lookupEnv("GITHUB_OUTPUT")
	return out
}

func settleFacts(cfg *config.Config, o *options) (attestFacts, error) {
	ci := cifacts.Detect(o.lookupEnv)
	f := attestFacts{
		format: o.slsa, builderID: provenance.ChooseBuilderID(o.builderID, o.lookupEnv, ci), ci: ci,
		sbom: cfg.SBOM != nil || o.sbom, toolVersion: o.toolVersion,
	}
	if f.format == "" {
		var err error
		if f.format, err = provenance.ParseFormat(cfg.SLSA); err != nil {
			return attestFacts{}, fmt.Errorf("%s: slsa: %w", cfg.PositionOf("slsa"), err)
		}
	}
	return f, nil
}

// catalogerID is the cataloger an SBOM is made with: sbom.generator; for
// a plain sbom: true (the original format's), the cataloger the lock pins
// when it pins exactly one, as someone writing sbom: true expects the
// artifacts' contents listed; "" for none.
func catalogerID(cfg *config.Config, r resolver) string {
	switch {
	case cfg.SBOM == nil || cfg.SBOM.Generator == GeneratorNone:
		return ""
	case cfg.SBOM.Generator != "":
		return cfg.SBOM.Generator
	}
	if ids := r.PinnedCatalogers(); len(ids) == 1 {
		return ids[0]
	}
	return ""
}

type planURL struct {
	url, where string
	secret     bool
	published  bool // the run puts something there
}

// planURLs lists every URL of cfg with where it is used.
func planURLs(cfg *config.Config) []planURL {
	var out []planURL
	for i, m := range cfg.Materials {
		out = append(out, planURL{url: m.URI, where: fmt.Sprintf("%s: materials[%d].uri", m.Pos, i)})
		if m.Attestation != "" && m.Attestation != config.AttestationAttached {
			out = append(out, planURL{url: m.Attestation, where: fmt.Sprintf("%s: materials[%d].attestation", m.Pos, i)})
		}
	}
	for i, s := range cfg.Secrets {
		if s.From != "" {
			out = append(out, planURL{url: s.From, where: fmt.Sprintf("%s: secrets[%d].from", s.Pos, i), secret: true})
		}
	}
	if cfg.Artifacts.Destination != "" {
		out = append(out, planURL{url: cfg.Artifacts.Destination, where: fmt.Sprintf("%s: artifacts.destination", cfg.Artifacts.Pos), published: true})
	}
	for i, im := range cfg.Artifacts.Images {
		if !strings.Contains(im, "://") {
			continue // a reference without a scheme: see qualifyImages
		}
		out = append(out, planURL{url: im, where: fmt.Sprintf("%s: artifacts.images[%d]", cfg.PositionOf(fmt.Sprintf("artifacts.images[%d]", i)), i), published: true})
	}
	for i, t := range cfg.Transfers {
		out = append(out, planURL{url: t.Destination, where: fmt.Sprintf("%s: transfers[%d].destination", t.Pos, i), published: true})
	}
	for i, c := range cfg.Credentials {
		out = append(out, planURL{url: c.URL, where: fmt.Sprintf("%s: credentials[%d].url", c.Pos, i)})
	}
	return out
}
