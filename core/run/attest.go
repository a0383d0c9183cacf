package run

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/digest"
	"github.com/mmbuild/mmbuild/core/provenance"
)

// attest assembles and encodes the statement.
func (r *runner) attest(res *Result, transfers []transferSet, key string, cacheable bool, finished time.Time) (*provenance.Statement, []byte, error) {
	var subjects []provenance.Resource
	seen := map[string]bool{}
	addSubject := func(a Artifact) {
		if seen[a.Name] {
			return
		}
		seen[a.Name] = true
		subjects = append(subjects, provenance.Resource{URI: a.Name, Digest: provenance.Digest{
			digest.SHA256: a.Digest[digest.SHA256], digest.SHA512: a.Digest[digest.SHA512],
		}})
	}
	for _, a := range res.Artifacts {
		addSubject(a)
	}
	for _, t := range transfers {
		for _, a := range t.files {
			addSubject(a)
		}
	}

	var materials []provenance.Resource
	if r.src.Commit != "" {
		materials = append(materials, provenance.Resource{URI: r.src.URI(), Digest: provenance.Digest{"sha1": r.src.Commit}})
	}
	for _, m := range r.materials {
		materials = append(materials, provenance.Resource{URI: m.uri, Digest: provenance.Digest(m.digest)})
	}
	for _, p := range r.o.host.Plugins() {
		materials = append(materials, provenance.Resource{
			URI:    "mmbuild-plugin:" + p.Name + "@" + p.Info.Version,
			Digest: provenance.Digest{digest.SHA256: trimAlg(p.SHA256)},
		})
	}

	configSource := provenance.Resource{URI: r.src.URI()}
	if r.src.Commit != "" {
		configSource.Digest = provenance.Digest{"sha1": r.src.Commit}
	}
	// The config's path in the recorded source; just its name when the
	// config does not live there (a cloned source built by an outside config).
	entry, err := filepath.Rel(r.src.Dir, r.cfg.Path)
	if err != nil || entry == ".." || strings.HasPrefix(entry, "../") {
		entry = filepath.Base(r.cfg.Path)
	}
	builderID := r.o.builderID
	if builderID == "" {
		builderID, _ = r.o.lookupEnv("MMBUILD_BUILDER_ID")
	}
	extra := map[string]any{"stagingKey": key, "cacheable": cacheable}
	if r.src.Dirty {
		extra["sourceDirty"] = true
	}
	stmt, err := provenance.New(provenance.Build{
		BuilderID:    builderID,
		HandlerID:    r.cfg.Handler.ID,
		Params:       r.cfg.Handler.Params,
		ConfigSource: configSource,
		EntryPoint:   filepath.ToSlash(entry),
		Environment:  r.attestedEnv(),
		Materials:    materials,
		Subjects:     subjects,
		InvocationID: r.invocationID,
		Started:      r.started,
		Finished:     finished,
		Completeness: provenance.Completeness{
			// Params are the handler's whole input from the config.
			Parameters: true,
			// The builder saw exactly the recorded environment.
			Environment: true,
			// A dirty or unversioned work tree is an input we cannot name.
			Materials: r.src.Commit != "" && !r.src.Dirty,
		},
		Extra: extra,
	})
	if err != nil {
		return nil, nil, err
	}
	data, err := provenance.Marshal(stmt)
	if err != nil {
		return nil, nil, err
	}
	data = r.redact.bytes(data)
	return stmt, data, nil
}

func trimAlg(sum string) string {
	if len(sum) > 7 && sum[:7] == "sha256:" {
		return sum[7:]
	}
	return sum
}
