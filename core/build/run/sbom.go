package run

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/evidence"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	catalogsdk "github.com/mmbuild/mmbuild/sdk/sbom"
)

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
	if v := in.facts.toolVersion; v != "" {
		inputs.Tools = append(inputs.Tools, sbom.Tool{Name: "mmbuild", Version: v})
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
