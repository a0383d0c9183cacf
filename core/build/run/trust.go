package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence"
	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	catalogsdk "github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// loadSigners returns the keys the attestation is signed with: --sign-key
// (WithSigners) or the config's signing: entry.
func loadSigners(cfg *config.Config, given []signing.Signer, secrets map[string]string) ([]signing.Signer, error) {
	if len(given) > 0 {
		return given, nil
	}
	s := cfg.Signing
	if s == nil {
		return nil, nil
	}
	var pem []byte
	switch {
	case s.KeySecret != "":
		v, ok := secrets[s.KeySecret]
		if !ok {
			return nil, fmt.Errorf("%s: signing.keySecret: secret %q is not declared", s.Pos, s.KeySecret)
		}
		pem = []byte(v)
	case s.Key != "":
		b, err := signing.ReadKeyFile(signingKeyPath(cfg))
		if err != nil {
			return nil, fmt.Errorf("%s: signing.key: %w", s.Pos, err)
		}
		pem = b
	default:
		return nil, fmt.Errorf("%s: signing: give key (a PEM file) or keySecret", s.Pos)
	}
	k, err := signing.LoadSigner(pem)
	if err != nil {
		// Never echo the key material: only say what failed.
		return nil, fmt.Errorf("%s: signing: loading the private key: %w", s.Pos, err)
	}
	return []signing.Signer{k}, nil
}

// signingKeyPath is where the config's signing.key is: a path relative to
// the config's folder. The signer reads it; the build's box hides it.
func signingKeyPath(cfg *config.Config) string {
	p := cfg.Signing.Key
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(cfg.Path), p)
	}
	return p
}

// sourceDateEpoch is the time reproducible outputs carry: SOURCE_DATE_EPOCH
// of the builder's environment, else fallback.
func sourceDateEpoch(env builderEnv, fallback time.Time) time.Time {
	if v, ok := env.lookup(SourceDateEpochVar); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return fallback.UTC()
}

// sbomTimeout bounds the cataloguing of one artifact.
const sbomTimeout = 15 * time.Minute

// sbomRequest asks for the SBOMs of the configured formats (SPDX by
// default): the artifacts as the core hashed them, what the cataloger
// finds inside each (refused unless it read the very file the core
// hashed), the source, the materials and the tools.
func sbomRequest(t tools, cfg *config.Config, in *prepared, b attested) *evidence.SBOMRequest {
	inputs := sbom.Inputs{Name: filepath.Base(in.workDir), Created: sourceDateEpoch(in.env, b.out.finished)}
	if in.src.Commit != "" {
		inputs.Source = &sbom.Source{Repo: in.src.Repo, Commit: in.src.Commit}
	}
	for _, m := range b.mats {
		inputs.Materials = append(inputs.Materials, sbom.Material{URI: t.red.String(remote.Redact(m.uri)), Digest: m.digest})
	}
	if t.o.toolVersion != "" {
		inputs.Tools = append(inputs.Tools, sbom.Tool{Name: "mmbuild", Version: t.o.toolVersion})
	}
	if h := in.plugins.handler; h != nil {
		inputs.Tools = append(inputs.Tools, sbom.Tool{Name: "mmbuild-plugin-" + h.Name, Version: h.Info.Version})
	}
	cat := &cataloger{t: t, cfg: cfg, ps: in.plugins, paths: map[string]string{}}
	seen := map[string]bool{}
	for _, a := range b.out.subjects() {
		if seen[a.Name] {
			continue
		}
		seen[a.Name] = true
		art := sbom.Artifact{Name: a.Name, Digest: a.Digest, Size: a.Size}
		if b.key.url != "" {
			art.DownloadLocation = t.red.String(remote.Redact(remote.Join(b.key.url, a.Name)))
		}
		cat.paths[a.Name] = a.Bytes()
		inputs.Artifacts = append(inputs.Artifacts, art)
	}
	req := &evidence.SBOMRequest{Inputs: inputs}
	if c := in.plugins.cataloger; c != nil {
		req.Inputs.Tools = append(req.Inputs.Tools, sbom.Tool{Name: "mmbuild-plugin-" + c.Name, Version: c.Info.Version})
		req.Catalog = cat
	}
	if cfg.SBOM != nil {
		req.Formats = cfg.SBOM.Formats
	}
	return req
}

// cataloger asks the cataloger plugin what is inside one artifact, within
// the configured number of entries and sbomTimeout. What it reports is
// taken only when it read the very file the core hashed.
type cataloger struct {
	t     tools
	cfg   *config.Config
	ps    *plugins
	paths map[string]string // artifact name → the hashed bytes
}

func (c *cataloger) Catalog(ctx context.Context, a sbom.Artifact) (*sbom.Contents, string, error) {
	t, cfg, ps := c.t, c.cfg, c.ps
	limit := int64(config.DefaultSBOMMaxEntries)
	var opts map[string]string
	if cfg.SBOM != nil {
		if cfg.SBOM.MaxEntries > 0 {
			limit = cfg.SBOM.MaxEntries
		}
		opts = cfg.SBOM.Options
	}
	ctx, cancel := context.WithTimeout(ctx, sbomTimeout)
	defer cancel()
	where := fmt.Sprintf("%s: sbom: cataloguing %s with %s", cfg.PositionOf("sbom"), a.Name, ps.cataloger.Name)
	contents := &sbom.Contents{}
	started := time.Now()
	res, err := ps.cataloger.Conn.Cataloger().Catalog(ctx, &catalogsdk.CatalogRequest{
		CatalogerID: ps.catalogerID, Name: a.Name, Path: c.paths[a.Name], Options: opts, MaxEntries: limit,
	}, func(ch catalogsdk.Chunk) error {
		contents.Packages = append(contents.Packages, ch.Packages...)
		contents.Files = append(contents.Files, ch.Files...)
		return nil
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, "", fmt.Errorf("%s: took longer than %s", where, sbomTimeout)
		}
		return nil, "", fmt.Errorf("%s: %w", where, ps.cataloger.Explain(err))
	}
	if got, want := strings.ToLower(res.SHA256), a.Digest[digest.SHA256]; got != want {
		return nil, "", fmt.Errorf("%s: the cataloger read a file whose sha256 is %q, the core hashed %s: its report is refused", where, got, want)
	}
	t.log.Info("catalogued", "artifact", a.Name, "packages", len(contents.Packages), "files", len(contents.Files), "tool", res.Tool, "took", time.Since(started).Round(time.Millisecond))
	return contents, res.Tool, nil
}

// ErrUpstream reports a material whose upstream attestation does not
// vouch for it.
var ErrUpstream = errors.New("upstream attestation check failed")

// checkUpstream verifies the attestation a material names: signed by one
// of its keys (when keys are given), and a subject covering the material's
// sha256 as the core computed it. With attestation: attached, the
// attestations attached to the material's image (manifest, its manifest
// digest) are read instead, and one of them must vouch for that digest.
func checkUpstream(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, m config.Material, got digest.Set, manifest string) error {
	if m.Attestation == "" {
		return nil
	}
	verifiers, err := loadVerifiers(cfg, m.Keys)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	if m.Attestation == config.AttestationAttached {
		return checkAttached(ctx, t, store, m, verifiers, manifest)
	}
	dest, err := t.ws.StagingPath("upstream.intoto.jsonl")
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(dest))
	if _, err := store.Get(ctx, m.Attestation, dest, remote.Quiet()); err != nil {
		return fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	f, err := os.Open(dest)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := attestation.Read(f)
	if err == nil {
		var up attestation.Upstream
		if up, err = attestation.CheckUpstream(data, verifiers, got[digest.SHA256]); err == nil {
			if !up.Signed {
				t.log.Warn("upstream attestation covers the material, but no keys were given to check who signed it", "material", store.Shown(m.URI))
			}
			t.log.Info("upstream attestation verified", "material", store.Shown(m.URI), "subject", up.Subject)
			return nil
		}
	}
	return fmt.Errorf("%w: %s: %w", ErrUpstream, store.Shown(m.Attestation), err)
}

// checkAttached accepts a material's image when one of the attestations
// attached to it (through the storage plugin's storage:attached) is signed
// by one of the material's keys and has a subject whose sha256 is the
// image's manifest digest. None attached, or none that vouches for it: one
// line saying why (the refusal of each file, once per distinct reason).
func checkAttached(ctx context.Context, t tools, store *remote.Store, m config.Material, verifiers []signing.Verifier, manifest string) error {
	ref, err := config.ParseImage(m.URI)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	subject := ref.ByDigest(manifest)
	dest, err := t.ws.StagingPath("attached")
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(dest))
	resp, err := store.Attached(ctx, storage.AttachedRequest{SubjectURL: subject, DestPath: dest})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	if len(resp.Files) == 0 {
		return fmt.Errorf("%w: no attestation is attached to %s: the image has no signed provenance", ErrUpstream, store.Shown(subject))
	}
	want := strings.TrimPrefix(manifest, "sha256:")
	var reasons []string
	for _, f := range resp.Files {
		if !workspace.PlainName(f.Name) {
			return fmt.Errorf("%w: %s: the storage plugin named an attached file %q, not a file name", ErrUpstream, store.Shown(subject), f.Name)
		}
		data, err := attestation.ReadFile(filepath.Join(dest, f.Name))
		if err == nil {
			var up attestation.Upstream
			if up, err = attestation.CheckUpstream(data, verifiers, want); err == nil {
				t.log.Info("upstream attestation verified", "material", store.Shown(m.URI), "image", store.Shown(subject), "attached", store.Shown(f.Location), "subject", up.Subject)
				return nil
			}
		}
		if r := err.Error(); !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	return fmt.Errorf("%w: none of the %d attestations attached to %s vouches for it with the keys given: %s", ErrUpstream, len(resp.Files), store.Shown(subject), strings.Join(reasons, "; "))
}

// loadVerifiers reads the public keys a material's attestation must be
// signed with (paths relative to the config's folder).
func loadVerifiers(cfg *config.Config, keys []string) ([]signing.Verifier, error) {
	return signing.LoadVerifierFiles(filepath.Dir(cfg.Path), keys...)
}
