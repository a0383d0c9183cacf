package run

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/evidence"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

// makeEvidence is the attest stage: the build's statement, signed, with
// its SBOMs as configured, assembled by evidence.Assemble from what the
// earlier stages found.
func makeEvidence(ctx context.Context, t tools, cfg *config.Config, in *prepared, b attested) (*evidence.Evidence, error) {
	req := evidence.Request{
		Build:   attest(t, cfg, in, b),
		Format:  in.facts.format,
		Signers: in.signers,
		Redact:  t.red.Bytes,
	}
	if in.facts.sbom {
		req.SBOM = sbomRequest(t, cfg, in, b)
	}
	return evidence.Assemble(ctx, req)
}

// attested is what the stages before attest produced: the fetched
// materials, the build's outputs, the images, the staging key, and when
// the run started.
type attested struct {
	mats    []fetchedMaterial
	out     *built
	imgs    []image
	key     stagingKey
	started time.Time
}

// attest assembles the statement.
func attest(t tools, cfg *config.Config, in *prepared, b attested) provenance.Build {
	mats, out, imgs, key := b.mats, b.out, b.imgs, b.key
	configSource := provenance.Resource{URI: in.src.URI()}
	if in.src.Commit != "" {
		configSource.Digest = provenance.Digest{"sha1": in.src.Commit}
	}
	var version map[string]string
	if v := in.facts.toolVersion; v != "" {
		version = map[string]string{"mmbuild": v}
	}
	return provenance.Build{
		BuilderVersion: version,
		HandlerID:      cfg.Handler.ID,
		Params:         cfg.Handler.Params,
		Options:        cfg.Handler.Options,
		ConfigSource:   configSource,
		EntryPoint:     entryPoint(cfg.Path, in.src.Dir),
		Environment:    in.env.attested(t.red),
		Materials:      attestedMaterials(in, mats),
		Subjects:       attestedSubjects(out, imgs),
		Completeness: provenance.Completeness{
			// Params are the handler's whole input from the config.
			Parameters: true,
			// The builder saw exactly the recorded environment.
			Environment: true,
			// A dirty or unversioned work tree is an input we cannot name.
			Materials: in.src.Commit != "" && !in.src.Dirty,
		},
		Config: buildConfig(t, cfg, in, out, imgs, key),
		Run: provenance.RunFacts{
			BuilderID: in.facts.builderID, InvocationID: in.invocationID,
			Started: b.started, Finished: out.finished, CI: in.facts.ci,
		},
	}
}

// attestedSubjects are the artifacts and transferred files, each once, and
// the images by manifest digest.
func attestedSubjects(out *built, imgs []image) []provenance.Resource {
	var subjects []provenance.Resource
	seen := map[string]bool{}
	for _, a := range out.subjects() {
		if seen[a.Name] {
			continue
		}
		seen[a.Name] = true
		subjects = append(subjects, provenance.Resource{URI: a.Name, Digest: provenance.Digest{
			digest.SHA256: a.Digest[digest.SHA256], digest.SHA512: a.Digest[digest.SHA512],
		}})
	}
	for _, im := range imgs {
		if !seen[im.ref.Repository+"@"+im.digest] {
			seen[im.ref.Repository+"@"+im.digest] = true
			subjects = append(subjects, im.subject())
		}
	}
	return subjects
}

// attestedMaterials are the source commit, every material with its
// verified digest, and every plugin binary with its sha256.
func attestedMaterials(in *prepared, mats []fetchedMaterial) []provenance.Resource {
	var out []provenance.Resource
	if in.src.Commit != "" {
		out = append(out, provenance.Resource{URI: in.src.URI(), Digest: provenance.Digest{"sha1": in.src.Commit}})
	}
	for _, m := range mats {
		out = append(out, provenance.Resource{URI: m.uri, Digest: provenance.Digest(m.digest)})
	}
	for _, p := range in.plugins.all {
		out = append(out, provenance.Resource{
			URI:    "mmbuild-plugin:" + p.Name + "@" + p.Info.Version,
			Digest: provenance.Digest{digest.SHA256: trimAlg(p.SHA256)},
		})
	}
	return out
}

// entryPoint is the config's path in the recorded source; just its name
// when the config does not live there (a cloned source built by an outside
// config).
func entryPoint(cfgPath, srcDir string) string {
	abs, err := filepath.Abs(cfgPath) // -f may name it relative to the current folder
	if err != nil {
		abs = cfgPath
	}
	entry, err := filepath.Rel(srcDir, abs)
	if err != nil || entry == ".." || strings.HasPrefix(entry, "../") {
		entry = filepath.Base(cfgPath)
	}
	return filepath.ToSlash(entry)
}

// buildConfig is the predicate's buildConfig: the staging key, where the
// subjects are published (replay fetches the originals from there to show
// what differs), and the transfers.
func buildConfig(t tools, cfg *config.Config, in *prepared, out *built, imgs []image, key stagingKey) provenance.BuildConfig {
	c := provenance.BuildConfig{
		StagingKey: key.key, Cacheable: key.cacheable, SourceDirty: in.src.Dirty,
		Transfers: recordTransfers(out.transfers), Images: recordImages(imgs),
		StorageOptions: storageOptions(cfg), Isolation: in.plugins.isolation,
	}
	if key.url != "" {
		c.StagingURL = t.red.String(remote.Redact(key.url))
	}
	return c
}

func trimAlg(sum string) string {
	if len(sum) > 7 && sum[:7] == "sha256:" {
		return sum[7:]
	}
	return sum
}

// recordTransfers records, for each transfer of the config in order, the
// names of the subjects it sent and where (URL without query). The cache
// lookup uses it to verify those subjects at the transfer's destination:
// they are not at the staging URL.
func recordTransfers(transfers []transferSet) []provenance.Transfer {
	if len(transfers) == 0 {
		return nil
	}
	out := make([]provenance.Transfer, 0, len(transfers))
	for _, t := range transfers {
		names := make([]string, 0, len(t.files))
		for _, f := range t.files {
			names = append(names, f.Name)
		}
		sort.Strings(names)
		out = append(out, provenance.Transfer{Destination: remote.Redact(t.destination), Files: names})
	}
	return out
}

// recordedTransfers are the transfers a statement records.
func recordedTransfers(stmt *provenance.Record) []provenance.Transfer { return stmt.Config.Transfers }

// storageOptions are the storage plugins' options of the config, by the
// config path of the entry that gives them ("materials[0]",
// "credentials[0]"), as replay reuses them. A credential's value is not an
// option: it never appears here.
func storageOptions(cfg *config.Config) map[string]map[string]string {
	out := map[string]map[string]string{}

	add := func(where string, o config.Options) {
		if len(o) > 0 {
			out[where] = o
		}
	}
	for i, s := range cfg.Secrets {
		add(fmt.Sprintf("secrets[%d]", i), s.Options)
	}
	for i, m := range cfg.Materials {
		add(fmt.Sprintf("materials[%d]", i), m.Options)
	}
	add("artifacts", cfg.Artifacts.Options)
	for i, t := range cfg.Transfers {
		add(fmt.Sprintf("transfers[%d]", i), t.Options)
	}
	// A credentials: entry's plain options choose where bytes come from
	// or go as much as a use's (a region, an endpoint); its secrets are
	// not options and never appear here.
	for i, c := range cfg.Credentials {
		add(fmt.Sprintf("credentials[%d]", i), c.PlainOptions())
	}
	return out
}
