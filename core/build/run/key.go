package run

import (
	"fmt"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/build/redact"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/stagingkey"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

// stagingKey is a run's content address and where it is published.
type stagingKey struct {
	key       string
	cacheable bool
	url       string // destination + key; empty without a destination
	// format is the SLSA version this run writes: a cached build
	// attested in another is not this build.
	format provenance.Format
}

// keyMaterials are the materials as the key covers them: the digest the
// config gives when it includes sha256 (fetching verifies the same
// values), else the digest the core computed. fetched is nil when nothing
// was fetched yet, and then every material has a given sha256.
func keyMaterials(mats []config.Material, fetched []fetchedMaterial) []stagingkey.Material {
	out := make([]stagingkey.Material, len(mats))
	for i, m := range mats {
		d := map[string]string{}
		if m.Digest[digest.SHA256] != "" {
			for a, v := range m.Digest {
				d[a] = strings.ToLower(v)
			}
		} else {
			d = fetched[i].digest
		}
		out[i] = stagingkey.Material{URI: m.URI, Digest: d}
	}
	return out
}

// computeKey computes the staging key of a run (docs/staging-key.md), with
// the handler as started, or as it is expected to start (a late handler).
func computeKey(t tools, cfg *config.Config, in *prepared, mats []stagingkey.Material) (stagingKey, error) {
	h := in.plugins.handlerIdentity()
	k := stagingkey.Inputs{
		Source:       "unversioned:" + in.invocationID,
		ConfigSHA256: cfg.SHA256,
		HandlerID:    cfg.Handler.ID,
		Params:       cfg.Handler.Params,
		Options:      cfg.Handler.Options,
		PluginSHA256: h.sha256,
		Materials:    mats,
		Env:          keyEnv(t, cfg, in.env, in.running),
		Isolation:    keyIsolation(h.box),
	}
	if in.src.Commit != "" && !in.src.Dirty {
		k.Source = "git:" + in.src.Commit
	}
	out := stagingKey{key: stagingkey.Key(k), cacheable: stagingkey.Cacheable(k), format: in.facts.format}
	if cfg.Artifacts.Destination != "" {
		out.url = remote.Join(cfg.Artifacts.Destination, out.key)
	}
	return out, nil
}

// keyIsolation is the box the build runs in as the key covers it: a build
// made in a weaker box (or none) is never the cached answer to a run in a
// stronger one.
func keyIsolation(a *isolation.Applied) string {
	if a == nil {
		return ""
	}
	return fmt.Sprintf("mechanism=%s network=%s full=%t", a.Mechanism, a.Network, a.Full())
}

// keyEnv is the declared environment and the values replacements take from
// the running environment, as the key covers them; secrets enter by name
// only.
func keyEnv(t tools, cfg *config.Config, env builderEnv, running environ) [][2]string {
	var out [][2]string
	for _, e := range cfg.Env {
		v, ok := env.lookup(e.Var)
		if !ok {
			continue
		}
		if env.secret[e.Var] {
			v = redact.Text
		}
		out = append(out, [2]string{e.Var, v})
	}
	for _, rep := range cfg.Replacements {
		if rep.ValueFrom != nil && rep.ValueFrom.Env != "" {
			v, _ := running.lookup(rep.ValueFrom.Env)
			out = append(out, [2]string{"replacement:" + rep.ValueFrom.Env, t.red.String(v)})
		}
	}
	return out
}
