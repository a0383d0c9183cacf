package run

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
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
	cfgPath, err := filepath.Abs(r.cfg.Path) // -f may name it relative to the current folder
	if err != nil {
		cfgPath = r.cfg.Path
	}
	entry, err := filepath.Rel(r.src.Dir, cfgPath)
	if err != nil || entry == ".." || strings.HasPrefix(entry, "../") {
		entry = filepath.Base(r.cfg.Path)
	}
	builderID := r.o.builderID
	if builderID == "" {
		builderID, _ = r.o.lookupEnv("MMBUILD_BUILDER_ID")
	}
	extra := map[string]any{"stagingKey": key, "cacheable": cacheable}
	if res.StagingURL != "" {
		// Where the subjects are published: replay fetches the originals
		// from there to show what differs.
		extra["stagingURL"] = redactURL(res.StagingURL)
	}
	if r.src.Dirty {
		extra["sourceDirty"] = true
	}
	if len(transfers) > 0 {
		extra[transfersKey] = recordTransfers(transfers)
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

// transfersKey names the buildConfig entry recording, for each transfer of
// the config in order, the names of the subjects it sent and where (URL
// without query). The cache lookup uses it to verify those subjects at the
// transfer's destination: they are not at the staging URL.
const transfersKey = "transfers"

// transferRecord is one transfer as buildConfig records it.
type transferRecord struct {
	Destination string   `json:"destination"`
	Files       []string `json:"files"`
}

func recordTransfers(transfers []transferSet) []transferRecord {
	out := make([]transferRecord, 0, len(transfers))
	for _, t := range transfers {
		names := make([]string, 0, len(t.files))
		for _, f := range t.files {
			names = append(names, f.Name)
		}
		sort.Strings(names)
		out = append(out, transferRecord{Destination: redactURL(t.destination), Files: names})
	}
	return out
}

// recordedTransfers reads the transfers a statement's buildConfig records
// (none when it records none or is not readable).
func recordedTransfers(stmt *provenance.Statement) []transferRecord {
	data, err := json.Marshal(stmt.Predicate.BuildConfig)
	if err != nil {
		return nil
	}
	var bc struct {
		Transfers []transferRecord `json:"transfers"`
	}
	if json.Unmarshal(data, &bc) != nil {
		return nil
	}
	return bc.Transfers
}
