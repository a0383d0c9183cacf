package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/storeindex"
	"github.com/mmbuild/mmbuild/core/evidence"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// planResult is the Result of a run that publishes: the artifacts' URLs
// are where publish puts them.
func planResult(key stagingKey, out *built, ev *evidence.Evidence) *Result {
	res := &Result{StagingKey: key.key, StagingURL: key.url, Statement: ev.Statement, Artifacts: append([]Artifact(nil), out.artifacts...)}
	if key.url != "" {
		for i := range res.Artifacts {
			res.Artifacts[i].URL = remote.Join(key.url, res.Artifacts[i].Name)
		}
	}
	return res
}

// publish uploads the artifacts, the transfers, the SBOMs and the signed
// bundles (together: their order does not matter), pushes and attaches to
// the images, then publishes the plain statement last: a destination
// without it is an incomplete build, which no cache takes.
func publish(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, res *Result, out *built, imgs []image, ev *evidence.Evidence) error {
	var files []upload
	for _, a := range res.Artifacts {
		if a.URL != "" {
			files = append(files, upload{a.Bytes(), a.URL, cfg.Artifacts.Options, "publishing artifact " + a.Name, a.Digest, a.snapshot()})
		}
	}
	for _, tr := range out.transfers {
		for _, f := range tr.files {
			files = append(files, upload{f.Bytes(), remote.Join(tr.destination, f.Name), tr.options, "transferring " + f.Name, f.Digest, f.snapshot()})
		}
	}
	var statement []upload
	if res.StagingURL != "" {
		for _, f := range ev.Files() {
			up, err := besideUpload(t, cfg, res.StagingURL, f.Name, f.Data)
			if err != nil {
				return err
			}
			statement = append(statement, up)
		}
		last := len(statement) - 1
		files, statement = append(files, statement[:last]...), statement[last:]
	}
	if err := putAll(ctx, store, files); err != nil {
		return err
	}
	if err := pushLayouts(ctx, store, imgs); err != nil {
		return err
	}
	if err := attachImages(ctx, t, store, imgs, ev); err != nil {
		return err
	}
	if res.StagingURL == "" {
		return nil
	}
	if err := putAll(ctx, store, statement); err != nil {
		return err
	}
	t.log.Info("published", "staging_url", store.Shown(res.StagingURL), "artifacts", len(res.Artifacts))
	return nil
}

// upload is one local file to put at a URL.
type upload struct {
	path, url string
	options   map[string]string
	what      string     // for the error: "publishing artifact x"
	digest    digest.Set // the core's, handed to the store; nil if none
	snapshot  bool       // path is the core's read-only snapshot (remote.PutItem.Snapshot)
}

// putAll puts the files in batches, one plugin round trip each where the
// plugin serves batches (remote.Store.PutMany): a file store syncs a batch
// once, remote ones overlap their round trips inside the plugin. The
// first failure cancels the rest; what was put stays, as an incomplete
// build (no statement) that no cache takes.
func putAll(ctx context.Context, store *remote.Store, files []upload) error {
	items := make([]remote.PutItem, len(files))
	for i, f := range files {
		items[i] = putItem(f)
	}
	if err := store.PutMany(ctx, items); err != nil {
		// The batch names the item that failed (a plugin built with an
		// older SDK may not, unless it is alone): say what it was.
		var ie *storage.ItemError
		switch {
		case errors.As(err, &ie) && ie.Index >= 0 && ie.Index < len(files):
			return fmt.Errorf("%s: %w", files[ie.Index].what, err)
		case len(files) == 1:
			return fmt.Errorf("%s: %w", files[0].what, err)
		}
		return fmt.Errorf("publishing %d files: %w", len(files), err)
	}
	return nil
}

func putItem(f upload) remote.PutItem {
	it := remote.PutItem{Path: f.path, URL: f.url, Options: f.options, Snapshot: f.snapshot}
	if sum := f.digest[digest.SHA256]; sum != "" {
		it.Digest = digest.SHA256 + ":" + sum
	}
	return it
}

// checkArtifactName refuses an artifact published under a name the
// evidence or the store index takes: the attestation would be overwritten
// by, or would overwrite, the file it describes.
func checkArtifactName(name string) error {
	switch {
	case slices.Contains(evidence.Names(), name):
		return fmt.Errorf("an artifact named %s would be published where the attestation's %s goes: rename it", name, name)
	case name == storeindex.Name:
		return fmt.Errorf("an artifact named %s would be published where the store index goes: rename it", name)
	}
	return nil
}

// checkArtifactNames refuses, before anything is published, an artifact a
// glob matched under a name the evidence takes (a literal one is refused
// by CheckConfig).
func checkArtifactNames(cfg *config.Config, arts []Artifact) error {
	for _, a := range arts {
		if err := checkArtifactName(a.Name); err != nil {
			return fmt.Errorf("%s: artifacts.files: %s: %w", cfg.PositionOf("artifacts.files"), a.Path, err)
		}
	}
	return nil
}

// ErrConcurrentPublish reports a destination another run of the same
// staging key published to at the same time, leaving it inconsistent with
// this run's attestation.
var ErrConcurrentPublish = errors.New("another run published this staging key at the same time")

// verifyPublished checks that the destination holds what this run
// published: its attestation, and every subject with this run's digest
// (hashed again by the core). Two runs of one key publishing at once can
// interleave their uploads; then the published attestation may name
// artifacts the destination does not hold. A destination that holds
// another run's complete, consistent build is fine (the staging key names
// the same inputs); anything else fails the run and is left for the next
// run's cache check to refuse.
func verifyPublished(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, key stagingKey, ev *evidence.Evidence) error {
	if key.url == "" {
		return nil
	}
	stmtURL := remote.Join(key.url, StatementName)
	data, err := fetchStatement(ctx, t, store, cfg, key.url)
	switch {
	case errors.Is(err, storage.ErrChanged):
		// Another run of this key is writing its attestation: look again.
		return fmt.Errorf("%w: its attestation at %s kept changing while it was read", ErrConcurrentPublish, store.Shown(stmtURL))
	case err != nil:
		return fmt.Errorf("verifying the published build: %w", err)
	}
	stmt := ev.Statement
	if !bytes.Equal(data, ev.Data) {
		if stmt, err = provenance.Decode(data); err != nil {
			return fmt.Errorf("%w: its attestation at %s is not this run's and does not parse", ErrConcurrentPublish, store.Shown(stmtURL))
		}
		t.log.Warn("another run published this staging key at the same time: checking its build", "staging_url", store.Shown(key.url))
	}
	_, vouched, ok, err := verifyCachedSubjects(ctx, t, store, cfg, key.url, stmt, nil)
	if err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("%w: the published artifacts do not match the published attestation at %s; run again (the next run finds a consistent build or rebuilds)", ErrConcurrentPublish, store.Shown(stmtURL))
		}
		return err
	}
	publishIndex(ctx, t, store, cfg, key, vouched)
	return nil
}

// publishIndex puts the store index beside the attestation: what the store
// said of each object when it vouched for its digest, so that a cache
// lookup of this build lists folders instead of asking about each object
// (see storeindex); none when no such object is in a store that lists
// folders. The build is published and verified without it, so a failure
// is a warning: the next lookup asks object by object.
func publishIndex(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, key stagingKey, objs []storeindex.Object) {
	if len(objs) == 0 {
		return
	}
	err := func() error {
		data, err := storeindex.Encode(&storeindex.Index{Objects: objs})
		if err != nil {
			return err
		}
		up, err := besideUpload(t, cfg, key.url, storeindex.Name, data)
		if err != nil {
			return err
		}
		return putAll(ctx, store, []upload{up})
	}()
	if err != nil {
		t.log.Warn("not publishing the store index: a cache hit of this build will check each object on its own",
			"url", store.Shown(remote.Join(key.url, storeindex.Name)), "error", err)
	}
}

// besideUpload writes data to a fresh file of the workspace, to be
// published as name beside the attestation at stagingURL.
func besideUpload(t tools, cfg *config.Config, stagingURL, name string, data []byte) (upload, error) {
	tmp, err := t.ws.StagingPath(name)
	if err != nil {
		return upload{}, err
	}
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return upload{}, err
	}
	return upload{path: tmp, url: remote.Join(stagingURL, name), options: cfg.Artifacts.Options, what: "publishing " + name}, nil
}
