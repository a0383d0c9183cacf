package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// Policy check names: reported after the standard checks, each one, when a
// policy is given (skipped when the policy says nothing about it).
const (
	CheckPolicyIdentity      = "policy:identity"
	CheckPolicyPredicateType = "policy:predicate-type"
	CheckPolicyBuilderID     = "policy:builder-id"
	CheckPolicySource        = "policy:source"
	CheckPolicyMaterials     = "policy:materials"
	CheckPolicyIsolation     = "policy:isolation"
	CheckPolicyNetwork       = "policy:network"
	CheckPolicyCIPlatform    = "policy:ci-platform"
	CheckPolicyCIRepository  = "policy:ci-repository"
	CheckPolicyCIRef         = "policy:ci-ref"
	CheckPolicyCIRunner      = "policy:ci-runner"
)

// PolicyCheckNames lists the policy checks in report order.
var PolicyCheckNames = []string{CheckPolicyIdentity, CheckPolicyPredicateType, CheckPolicyBuilderID, CheckPolicySource, CheckPolicyMaterials, CheckPolicyIsolation, CheckPolicyNetwork,
	CheckPolicyCIPlatform, CheckPolicyCIRepository, CheckPolicyCIRef, CheckPolicyCIRunner}

// Policy is what a consumer requires of any builder's provenance, kept in
// a YAML file in its repository:
//
//	keys: [keys/release.pub]        # trusted public keys (relative to the file)
//	threshold: 1                    # how many of them must have signed
//	identities:                     # or: trusted keyless signers (any one of them)
//	  - issuer: https://token.actions.githubusercontent.com   # or issuerRegexp
//	    subjectRegexp: ^https://github.com/octo/app/          # or subject
//	    repository: https://github.com/octo/app               # CI certificate extensions, optional
//	    ref: refs/heads/main
//	    workflow: https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main
//	trustedRoot: sigstore/trusted_root.json  # Sigstore's JSON; default the public-good instance's
//	predicateTypes: [https://slsa.dev/provenance/v1]
//	builderIDs: [https://github.com/actions/runner/github-hosted]
//	sources:
//	  - repo: https://github.com/octo/app
//	    refs: [refs/heads/main]     # or commit ids; empty: any revision
//	materials:
//	  - uri: https://example.com/lib-1.2.tgz   # optional
//	    sha256: 4b0f…
//	isolation:
//	  mode: required                # the builder ran in the whole box, asked as required
//	  network: none                 # and reached no network
//	ci:
//	  platform: gitlab              # github, gitlab, jenkins or generic
//	  repository: group/project     # as the platform names it
//	  refs: [refs/heads/main]       # the job's ref is one of these
//	  protected: true               # and the platform protects it
//	  runner: hosted                # hosted or self-hosted
type Policy struct {
	Keys           []string           `yaml:"keys"`
	Threshold      int                `yaml:"threshold"`
	Identities     []signing.Identity `yaml:"identities"`
	TrustedRoot    string             `yaml:"trustedRoot"`
	PredicateTypes []string           `yaml:"predicateTypes"`
	BuilderIDs     []string           `yaml:"builderIDs"`
	Sources        []PolicySource     `yaml:"sources"`
	Materials      []PolicyMaterial   `yaml:"materials"`
	Isolation      *PolicyIsolation   `yaml:"isolation"`
	CI             *PolicyCI          `yaml:"ci"`

	// Path is the file the policy was read from; Verifiers its keys, loaded.
	Path      string             `yaml:"-"`
	Verifiers []signing.Verifier `yaml:"-"`
	// Keyless verifies its identities, once UseTrustedRoot gave it a root.
	Keyless *signing.Keyless `yaml:"-"`
}

// TrustedRootPath is the policy's trustedRoot, relative to its file; ""
// when it names none.
func (p *Policy) TrustedRootPath() string {
	if p.TrustedRoot == "" || filepath.IsAbs(p.TrustedRoot) {
		return p.TrustedRoot
	}
	return filepath.Join(filepath.Dir(p.Path), p.TrustedRoot)
}

// UseTrustedRoot sets the trusted root the policy's identities are
// verified under (nothing to do when it has none).
func (p *Policy) UseTrustedRoot(tr root.TrustedMaterial, opts ...signing.KeylessOption) error {
	if len(p.Identities) == 0 {
		return nil
	}
	k, err := signing.NewKeyless(tr, p.Identities, opts...)
	if err != nil {
		return fmt.Errorf("policy %s: identities: %w", p.Path, err)
	}
	p.Keyless = k
	return nil
}

// PolicySource is a repository builds may come from, optionally at given
// refs or commits.
type PolicySource struct {
	Repo string   `yaml:"repo"`
	Refs []string `yaml:"refs"`
}

// PolicyIsolation is the box the builder must have run in. Mode auto
// requires the whole box (however it was asked for), required also that
// the build asked for it as required, off nothing; network none requires
// a box without network, host nothing.
type PolicyIsolation struct {
	Mode    string `yaml:"mode"`
	Network string `yaml:"network"`
}

// PolicyCI is the CI job the build must have run in, as the statement
// records it (from the platform's own variables).
type PolicyCI struct {
	Platform   string   `yaml:"platform"`
	Repository string   `yaml:"repository"`
	Refs       []string `yaml:"refs"`
	Protected  bool     `yaml:"protected"`
	Runner     string   `yaml:"runner"`
}

// PolicyMaterial is a material the build must have used.
type PolicyMaterial struct {
	URI    string `yaml:"uri"`
	SHA256 string `yaml:"sha256"`
}

// maxPolicySize bounds the policy file read.
const maxPolicySize = 1 << 20

// LoadPolicy reads a policy file strictly (unknown keys are errors with
// their line) and loads its keys.
func LoadPolicy(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("reading policy %s: %w", path, err)
	}
	if len(data) > maxPolicySize {
		return nil, fmt.Errorf("policy %s: larger than %d MiB", path, maxPolicySize>>20)
	}
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("policy %s: empty", path)
		}
		return nil, fmt.Errorf("policy %s: %s", path, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	p.Path = path
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	if p.Verifiers, err = signing.LoadVerifierFiles(filepath.Dir(path), p.Keys...); err != nil {
		return nil, fmt.Errorf("policy %s: keys: %w", path, err)
	}
	return &p, nil
}

func (p *Policy) check() error {
	if p.Threshold < 0 || (p.Threshold > 0 && p.Threshold > len(p.Keys)) {
		return fmt.Errorf("threshold %d: %d keys given", p.Threshold, len(p.Keys))
	}
	for i, id := range p.Identities {
		if err := id.Check(); err != nil {
			return fmt.Errorf("identities[%d]: %w", i, err)
		}
	}
	if p.TrustedRoot != "" && len(p.Identities) == 0 {
		return errors.New("trustedRoot: no identities to verify under it")
	}
	for i, s := range p.Sources {
		if s.Repo == "" {
			return fmt.Errorf("sources[%d]: repo is empty", i)
		}
	}
	for i, m := range p.Materials {
		if !isHex(strings.ToLower(m.SHA256), 64) {
			return fmt.Errorf("materials[%d]: sha256 %q is not 64 hex digits", i, m.SHA256)
		}
	}
	if c := p.CI; c != nil {
		switch c.Platform {
		case "", cifacts.GitHub, cifacts.GitLab, cifacts.Jenkins, cifacts.Generic:
		default:
			return fmt.Errorf("ci.platform %q: expected github, gitlab, jenkins or generic", c.Platform)
		}
		switch c.Runner {
		case "", cifacts.Hosted, cifacts.SelfHosted:
		default:
			return fmt.Errorf("ci.runner %q: expected hosted or self-hosted", c.Runner)
		}
	}
	if iso := p.Isolation; iso != nil {
		if _, err := isolation.ParseMode(iso.Mode); err != nil {
			return fmt.Errorf("isolation.mode: %w", err)
		}
		if _, err := isolation.ParseNetwork(iso.Network); err != nil {
			return fmt.Errorf("isolation.network: %w", err)
		}
	}
	return nil
}

// policyChecks evaluates the policy against the statement read, one check
// each; rec is nil for a verification summary (only the signer and the
// predicate type apply to it); cert is the signer's certificate when it
// signed keylessly.
func policyChecks(p *Policy, predicateType string, rec *provenance.Record, cert *Certificate) []Check {
	out := []Check{policyIdentity(p, cert), policyPredicateType(p, predicateType)}
	if rec == nil {
		for _, n := range PolicyCheckNames[2:] {
			out = append(out, result(n, Skipped, "not applicable to a verification summary"))
		}
		return out
	}
	iso, network := policyIsolation(p, rec)
	out = append(out, policyBuilderID(p, rec), policySource(p, rec), policyMaterials(p, rec), iso, network)
	return append(out, policyCI(p, rec)...)
}

// policyCI checks the CI job the statement records against the policy's
// ci: platform, repository, ref (and its protection), runner kind.
func policyCI(p *Policy, rec *provenance.Record) []Check {
	var want PolicyCI
	if p.CI != nil {
		want = *p.CI
	}
	got := rec.CI
	var err error
	if got == nil {
		err = errors.New("the statement records no CI job")
	}
	check := func(name string, asked bool, ok func(*cifacts.Facts) (bool, string)) Check {
		if !asked {
			return result(name, Skipped, "the policy allows any")
		}
		if err != nil {
			return result(name, Fail, "%v", err)
		}
		pass, detail := ok(got)
		if pass {
			return result(name, Pass, "%s", detail)
		}
		return result(name, Fail, "%s", detail)
	}
	return []Check{
		check(CheckPolicyCIPlatform, want.Platform != "", func(f *cifacts.Facts) (bool, string) {
			return f.Platform == want.Platform, "platform " + orNone(f.Platform) + ", the policy requires " + want.Platform
		}),
		check(CheckPolicyCIRepository, want.Repository != "", func(f *cifacts.Facts) (bool, string) {
			return f.Repository == want.Repository, "repository " + orNone(f.Repository) + ", the policy requires " + want.Repository
		}),
		check(CheckPolicyCIRef, len(want.Refs) > 0 || want.Protected, func(f *cifacts.Facts) (bool, string) {
			if len(want.Refs) > 0 && !slices.Contains(want.Refs, f.Ref) {
				return false, "ref " + orNone(f.Ref) + " is not one the policy allows (" + strings.Join(want.Refs, ", ") + ")"
			}
			if want.Protected && (f.RefProtected == nil || !*f.RefProtected) {
				return false, "ref " + orNone(f.Ref) + " is not recorded as protected, the policy requires it"
			}
			return true, "ref " + f.Ref
		}),
		check(CheckPolicyCIRunner, want.Runner != "", func(f *cifacts.Facts) (bool, string) {
			return f.RunnerKind == want.Runner, "runner " + orNone(f.RunnerKind) + ", the policy requires " + want.Runner
		}),
	}
}

// policyIsolation checks the box the statement records the builder ran in
// against the policy's isolation: (mode, then network).
func policyIsolation(p *Policy, rec *provenance.Record) (Check, Check) {
	var want PolicyIsolation
	if p.Isolation != nil {
		want = *p.Isolation
	}
	needBox := want.Mode == string(isolation.ModeAuto) || want.Mode == string(isolation.ModeRequired)
	needNone := want.Network == string(isolation.NetworkNone)
	if !needBox && !needNone {
		return result(CheckPolicyIsolation, Skipped, "the policy allows any box"), result(CheckPolicyNetwork, Skipped, "the policy allows any network")
	}
	got := rec.Config.Isolation
	var err error
	if got == nil {
		err = errors.New("the statement records no box: its builder ran unboxed or did not say")
	}
	if err != nil {
		fail := func(name string, need bool) Check {
			if !need {
				return result(name, Skipped, "the policy allows any")
			}
			return result(name, Fail, "%v", err)
		}
		return fail(CheckPolicyIsolation, needBox), fail(CheckPolicyNetwork, needNone)
	}
	boxCheck := result(CheckPolicyIsolation, Skipped, "the policy allows any box (the build's: %s, mode %s)", got.Mechanism, got.Mode)
	switch {
	case !needBox:
	case !got.Full():
		why := got.Missing
		if why == "" {
			why = "mode " + string(got.Mode)
		}
		boxCheck = result(CheckPolicyIsolation, Fail, "the builder did not run in the whole box (%s: %s)", got.Mechanism, why)
	case want.Mode == string(isolation.ModeRequired) && got.Mode != isolation.ModeRequired:
		boxCheck = result(CheckPolicyIsolation, Fail, "the box was asked for as %s, the policy requires required", got.Mode)
	default:
		boxCheck = result(CheckPolicyIsolation, Pass, "%s box, mode %s", got.Mechanism, got.Mode)
	}
	netCheck := result(CheckPolicyNetwork, Skipped, "the policy allows any network (the build's: %s)", got.Network)
	switch {
	case !needNone:
	case got.Network == isolation.NetworkNone && got.Mechanism != isolation.MechanismNone:
		netCheck = result(CheckPolicyNetwork, Pass, "none")
	default:
		netCheck = result(CheckPolicyNetwork, Fail, "the build reached the %s network; the policy requires none", got.Network)
	}
	return boxCheck, netCheck
}

// policyIdentity: the statement was signed keylessly by one of the
// policy's identities (its certificate verified, then matched here).
func policyIdentity(p *Policy, cert *Certificate) Check {
	if len(p.Identities) == 0 {
		return result(CheckPolicyIdentity, Skipped, "the policy names no identity")
	}
	if cert == nil {
		return result(CheckPolicyIdentity, Fail, "no verified certificate: the statement is not signed keylessly by an identity the policy trusts")
	}
	for _, id := range p.Identities {
		if id.Matches(cert.certified) == nil {
			return result(CheckPolicyIdentity, Pass, "%s (issuer %s) is %s", cert.Subject, cert.Issuer, id)
		}
	}
	return result(CheckPolicyIdentity, Fail, "%s (issuer %s) is none of the identities the policy trusts", cert.Subject, cert.Issuer)
}

func policyPredicateType(p *Policy, got string) Check {
	if len(p.PredicateTypes) == 0 {
		return result(CheckPolicyPredicateType, Skipped, "the policy allows any (the statement's is %s)", got)
	}
	if slices.Contains(p.PredicateTypes, got) {
		return result(CheckPolicyPredicateType, Pass, "%s", got)
	}
	return result(CheckPolicyPredicateType, Fail, "predicateType %s is not one the policy allows (%s)", got, strings.Join(p.PredicateTypes, ", "))
}

func policyBuilderID(p *Policy, rec *provenance.Record) Check {
	if len(p.BuilderIDs) == 0 {
		return result(CheckPolicyBuilderID, Skipped, "the policy allows any (the statement's is %s)", orNone(rec.BuilderID))
	}
	if slices.Contains(p.BuilderIDs, rec.BuilderID) {
		return result(CheckPolicyBuilderID, Pass, "%s", rec.BuilderID)
	}
	return result(CheckPolicyBuilderID, Fail, "builder %s is not one the policy trusts (%s)", orNone(rec.BuilderID), strings.Join(p.BuilderIDs, ", "))
}

// policySource: the recorded source is one of the policy's repositories,
// at one of its refs or commits when it names any. A ref matches the
// revision of the source URI (git+repo@refs/heads/main) and a commit also
// the recorded commit digest.
func policySource(p *Policy, rec *provenance.Record) Check {
	if len(p.Sources) == 0 {
		return result(CheckPolicySource, Skipped, "the policy allows any (the statement's is %s)", orNone(rec.Source.URI))
	}
	got := rec.Source.URI
	_, rev := splitRevision(got)
	commit := rec.Source.Digest[digest.SHA1]
	for _, s := range p.Sources {
		if !SourceURIMatches(got, s.Repo) {
			continue
		}
		if len(s.Refs) == 0 {
			return result(CheckPolicySource, Pass, "%s (any revision)", got)
		}
		for _, ref := range s.Refs {
			if ref == rev || (commit != "" && strings.EqualFold(ref, commit)) {
				return result(CheckPolicySource, Pass, "%s at %s", got, ref)
			}
		}
		return result(CheckPolicySource, Fail, "%s is from %s but not at a revision the policy allows (%s)", orNone(got), s.Repo, strings.Join(s.Refs, ", "))
	}
	repos := make([]string, 0, len(p.Sources))
	for _, s := range p.Sources {
		repos = append(repos, s.Repo)
	}
	return result(CheckPolicySource, Fail, "source %s is not a repository the policy allows (%s)", orNone(got), strings.Join(repos, ", "))
}

func policyMaterials(p *Policy, rec *provenance.Record) Check {
	if len(p.Materials) == 0 {
		return result(CheckPolicyMaterials, Skipped, "the policy requires none (the statement records %d)", len(rec.Materials))
	}
	var missing []string
	for _, want := range p.Materials {
		found := false
		for _, m := range rec.Materials {
			if strings.EqualFold(m.Digest[digest.SHA256], want.SHA256) && (want.URI == "" || want.URI == m.URI) {
				found = true
				break
			}
		}
		if !found {
			name := want.URI
			if name == "" {
				name = "sha256:" + want.SHA256
			}
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return result(CheckPolicyMaterials, Fail, "the build did not use %s with the required sha256", strings.Join(missing, ", "))
	}
	return result(CheckPolicyMaterials, Pass, "%d required material%s used with the required sha256", len(p.Materials), plural(len(p.Materials)))
}
