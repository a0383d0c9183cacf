package run

import (
	"context"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
)

// materialsAndCache fetches the materials and looks the build up in the
// cache. When every material's sha256 is given in the config the key is
// known before anything is fetched, so a cache hit fetches nothing; else
// the lookup waits for the fetched digests. A hit returns its Result.
//
// The key covers the handler plugin and its box, so it waits for the
// handler's start: where no lookup needs the key first (--force, no
// destination, a material without a digest), the materials are fetched
// while the handler still starts.
func materialsAndCache(ctx context.Context, t tools, cfg *config.Config, in *prepared) ([]fetchedMaterial, stagingKey, *Result, error) {
	if err := checkMaterials(t, cfg.Materials); err != nil {
		return nil, stagingKey{}, nil, err
	}
	var mats []fetchedMaterial
	var err error
	lookup := !t.o.force && cfg.Artifacts.Destination != ""
	fetchFirst := !lookup || !digestsKnown(cfg.Materials)
	if fetchFirst {
		if mats, err = fetchMaterials(ctx, t, in.store, cfg); err != nil {
			return nil, stagingKey{}, nil, err
		}
	}
	if err := in.plugins.awaitHandler(); err != nil {
		return nil, stagingKey{}, nil, err
	}
	key, err := computeKey(t, cfg, in, keyMaterials(cfg.Materials, mats))
	if err != nil {
		return nil, stagingKey{}, nil, err
	}
	if lookup && key.cacheable && key.url != "" {
		res, err := lookupCache(ctx, t, in.store, cfg, key, in.outDir)
		if err != nil {
			return nil, stagingKey{}, nil, err
		}
		if res != nil {
			t.log.Info("the destination already holds this build: skipping it (use --force to rebuild)", "staging_url", t.red.String(key.url))
			return nil, key, res, writeOutputs(t, in.outputs, res)
		}
	}
	if !fetchFirst {
		if mats, err = fetchMaterials(ctx, t, in.store, cfg); err != nil {
			return nil, stagingKey{}, nil, err
		}
	}
	return mats, key, nil, nil
}

// digestsKnown reports whether every material's sha256 is given, so the
// staging key can be computed before fetching.
func digestsKnown(mats []config.Material) bool {
	for _, m := range mats {
		if m.Digest[digest.SHA256] == "" {
			return false
		}
	}
	return true
}
