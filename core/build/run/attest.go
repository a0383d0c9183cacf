package run

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

// evidence is what the attest and sign stages produce.
type evidence struct {
	statement *provenance.Record // data as read back by the one reader
	data      []byte             // the statement as published, secrets redacted
	bundle    []byte             // .intoto.jsonl: the provenance envelope, then the SBOMs'
	sboms     []sbomFile         // one per format
	// sigstore is the Sigstore bundle (v0.3) of the signed provenance
	// statement; nil when unsigned.
	sigstore []byte
	// envelope is the signed provenance's DSSE envelope (the bundle's
	// first line), which is attached to images; nil when unsigned.
	envelope []byte
}

// makeEvidence attests the build, then signs the statement and writes the
// SBOM as configured.
func makeEvidence(ctx context.Context, t tools, cfg *config.Config, in *prepared, mats []fetchedMaterial, out *built, imgs []image, key stagingKey, started time.Time) (*evidence, error) {
	b := attest(t, cfg, in, mats, out, imgs, key, started)
	format, err := provenanceFormat(t, cfg)
	if err != nil {
		return nil, err
	}
	data, err := provenance.Encode(b, format)
	if err != nil {
		return nil, err
	}
	ev := &evidence{data: t.red.Bytes(data)}
	// What is published is read back by the reader every consumer uses
	// (verify, replay, the cache): a statement it refused would be
	// evidence nobody can check.
	if ev.statement, err = provenance.Decode(ev.data); err != nil {
		return nil, fmt.Errorf("reading back the attestation: %w", err)
	}
	if err := signAndSBOM(ctx, t, cfg, in, ev, out, mats, key); err != nil {
		return nil, err
	}
	return ev, nil
}

// provenanceFormat is the SLSA version to write: --slsa, else the
// config's slsa:, else v0.2.
func provenanceFormat(t tools, cfg *config.Config) (provenance.Format, error) {
	if t.o.slsa != "" {
		return t.o.slsa, nil
	}
	f, err := provenance.ParseFormat(cfg.SLSA)
	if err != nil {
		return "", fmt.Errorf("%s: slsa: %w", cfg.PositionOf("slsa"), err)
	}
	return f, nil
}

// attest assembles the statement.
func attest(t tools, cfg *config.Config, in *prepared, mats []fetchedMaterial, out *built, imgs []image, key stagingKey, started time.Time) provenance.Build {
	configSource := provenance.Resource{URI: in.src.URI()}
	if in.src.Commit != "" {
		configSource.Digest = provenance.Digest{"sha1": in.src.Commit}
	}
	ci := cifacts.Detect(t.o.lookupEnv)
	builderID := t.o.builderID
	if builderID == "" {
		builderID, _ = t.o.lookupEnv("MMBUILD_BUILDER_ID")
	}
	if builderID == "" {
		builderID = ci.BuilderID() // the CI's runner, as the platform names it
	}
	var version map[string]string
	if t.o.toolVersion != "" {
		version = map[string]string{"mmbuild": t.o.toolVersion}
	}
	return provenance.Build{
		BuilderID:      builderID,
		BuilderVersion: version,
		HandlerID:      cfg.Handler.ID,
		Params:         cfg.Handler.Params,
		Options:        cfg.Handler.Options,
		ConfigSource:   configSource,
		EntryPoint:     entryPoint(cfg.Path, in.src.Dir),
		Environment:    in.env.attested(t.red),
		Materials:      attestedMaterials(in, mats),
		Subjects:       attestedSubjects(out, imgs),
		InvocationID:   in.invocationID,
		Started:        started,
		Finished:       out.finished,
		Completeness: provenance.Completeness{
			// Params are the handler's whole input from the config.
			Parameters: true,
			// The builder saw exactly the recorded environment.
			Environment: true,
			// A dirty or unversioned work tree is an input we cannot name.
			Materials: in.src.Commit != "" && !in.src.Dirty,
		},
		Extra: buildConfig(t, cfg, in, out, imgs, key, ci),
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
func buildConfig(t tools, cfg *config.Config, in *prepared, out *built, imgs []image, key stagingKey, ci *cifacts.Facts) map[string]any {
	extra := map[string]any{"stagingKey": key.key, "cacheable": key.cacheable}
	if key.url != "" {
		extra["stagingURL"] = t.red.String(remote.Redact(key.url))
	}
	if in.src.Dirty {
		extra["sourceDirty"] = true
	}
	if len(out.transfers) > 0 {
		extra[transfersKey] = recordTransfers(out.transfers)
	}
	if len(imgs) > 0 {
		extra[imagesKey] = recordImages(imgs)
	}
	if opts := storageOptions(cfg); len(opts) > 0 {
		extra["storageOptions"] = opts
	}
	if a := in.plugins.isolation; a != nil {
		extra[provenance.IsolationKey] = a
	}
	if ci != nil {
		extra[provenance.CIKey] = ci
	}
	return extra
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
		out = append(out, transferRecord{Destination: remote.Redact(t.destination), Files: names})
	}
	return out
}

// recordedTransfers reads the transfers a statement's buildConfig records
// (none when it records none or is not readable).
func recordedTransfers(stmt *provenance.Record) []transferRecord {
	data, err := json.Marshal(stmt.Extra)
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

// storageOptions are the storage plugins' options of the config, by the
// config path of their use ("materials[0]"), as replay reuses them.
// Credentials are not options of the config: they never appear here.
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
	return out
}
