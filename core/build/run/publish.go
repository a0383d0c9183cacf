package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/workspace"
)

// publish uploads the artifacts, then the transfers, then the attestation
// last: a destination without an attestation is an incomplete build. It
// returns the run's Result.
func publish(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, key stagingKey, out *built, ev *evidence) (*Result, error) {
	res := &Result{StagingKey: key.key, StagingURL: key.url, Statement: ev.statement, Artifacts: append([]Artifact(nil), out.artifacts...)}
	if key.url != "" {
		for i := range res.Artifacts {
			a := &res.Artifacts[i]
			u := remote.Join(key.url, a.Name)
			if _, err := store.Put(ctx, a.Path, u, cfg.Artifacts.Options); err != nil {
				return nil, fmt.Errorf("publishing artifact %s: %w", a.Name, err)
			}
			a.URL = u
		}
	}
	for _, tr := range out.transfers {
		for _, f := range tr.files {
			if _, err := store.Put(ctx, f.Path, remote.Join(tr.destination, f.Name), tr.options); err != nil {
				return nil, fmt.Errorf("transferring %s: %w", f.Name, err)
			}
		}
	}
	if key.url == "" {
		return res, nil
	}
	// The SBOM and the signed bundle, then the plain statement last: its
	// presence marks a complete build.
	for _, f := range evidenceFiles(ev) {
		tmp, err := t.ws.StagingPath(f.name)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
			return nil, err
		}
		if _, err := store.Put(ctx, tmp, remote.Join(key.url, f.name), cfg.Artifacts.Options); err != nil {
			return nil, fmt.Errorf("publishing %s: %w", f.name, err)
		}
	}
	t.log.Info("published", "staging_url", store.Shown(key.url), "artifacts", len(res.Artifacts))
	return res, nil
}

type namedFile struct {
	name string
	data []byte
}

// evidenceFiles are the files of the evidence in publishing order, the
// statement last.
func evidenceFiles(ev *evidence) []namedFile {
	var out []namedFile
	for _, f := range []namedFile{{SBOMName, ev.sbom}, {BundleName, ev.bundle}, {StatementName, ev.data}} {
		if f.data != nil {
			out = append(out, f)
		}
	}
	return out
}

// writeLocal writes the local copies of the evidence into provenance:,
// only once everything is published: a failed run leaves no attestation
// that could be mistaken for a complete build.
func writeLocal(t tools, cfg *config.Config, outDir string, ev *evidence, res *Result) error {
	if cfg.Provenance == "" {
		return nil
	}
	dir, err := workspace.Join(outDir, cfg.Provenance)
	if err != nil {
		return fmt.Errorf("%s: provenance: %w", cfg.PositionOf("provenance"), err)
	}
	for _, f := range evidenceFiles(ev) {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	res.StatementPath = filepath.Join(dir, StatementName)
	if ev.bundle != nil {
		res.BundlePath = filepath.Join(dir, BundleName)
	}
	if ev.sbom != nil {
		res.SBOMPath = filepath.Join(dir, SBOMName)
	}
	return nil
}
