package run

import (
	"context"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
)

// materialsAndCache fetches the materials and looks the build up in the
// cache. When every material's sha256 is given in the config the key is
// known before anything is fetched, so a cache hit fetches nothing; else
// the lookup waits for the fetched digests (none with p.force). A hit
// returns its Result.
func materialsAndCache(ctx context.Context, t tools, cfg *config.Config, p *plan, in *prepared) ([]fetchedMaterial, stagingKey, *Result, error) {
	if err := checkMaterials(t, cfg.Materials, p.requireDigests); err != nil {
		return nil, stagingKey{}, nil, err
	}
	var mats []fetchedMaterial
	var err error
	early := digestsKnown(cfg.Materials)
	if !early {
		if mats, err = fetchMaterials(ctx, t, in.store, cfg); err != nil {
			return nil, stagingKey{}, nil, err
		}
	}
	km := keyMaterials(cfg.Materials, mats)
	key, err := computeKey(t, cfg, in, km)
	if err != nil {
		return nil, stagingKey{}, nil, err
	}
	if res, err := lookup(ctx, t, cfg, p, in, key); err != nil || res != nil {
		return nil, key, res, err
	}
	// A handler whose start waited for the lookup starts now. Where it
	// runs in another box than expected (auto making a weaker one), the
	// key covers the box it runs in: the cache is looked up again.
	if in.plugins.handler == nil {
		if err := in.plugins.startLate(ctx, cfg, p); err != nil {
			return nil, stagingKey{}, nil, err
		}
		again, err := computeKey(t, cfg, in, km)
		if err != nil {
			return nil, stagingKey{}, nil, err
		}
		if again.key != key.key {
			key = again
			if res, err := lookup(ctx, t, cfg, p, in, key); err != nil || res != nil {
				return nil, key, res, err
			}
		}
	}
	if early {
		if mats, err = fetchMaterials(ctx, t, in.store, cfg); err != nil {
			return nil, stagingKey{}, nil, err
		}
	}
	return mats, key, nil, nil
}

// lookup looks the build of key up in the cache, where the run may reuse
// one, and writes the outputs of a hit.
func lookup(ctx context.Context, t tools, cfg *config.Config, p *plan, in *prepared, key stagingKey) (*Result, error) {
	if !key.cacheable || key.url == "" || p.force {
		return nil, nil
	}
	res, err := lookupCache(ctx, t, in.store, cfg, key, in.outDir)
	if err != nil || res == nil {
		return nil, err
	}
	t.log.Info("the destination already holds this build: skipping it (use --force to rebuild)", "staging_url", t.red.String(key.url))
	return res, writeOutputs(t, in.outputs, res)
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
