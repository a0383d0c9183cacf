package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/outfile"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

// lookupCache returns the Result of a complete, verified build at the
// staging URL, or nil when there is none: the attestation parses, and every
// subject it names is there with the recorded digest (hashed here, by the
// core). The attestation is untrusted: anything odd in it is a miss.
func lookupCache(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, key stagingKey, outDir string) (*Result, error) {
	stmtURL := remote.Join(key.url, StatementName)
	data, err := fetchStatement(ctx, t, store, cfg, key.url)
	switch {
	case errors.Is(err, remote.ErrNotFound):
		return nil, nil
	case errors.Is(err, attestation.ErrTooLarge):
		t.log.Warn("ignoring an oversized attestation in the cache", "url", store.Shown(stmtURL))
		return nil, nil
	case err != nil:
		return nil, err
	}
	stmt, err := provenance.Decode(data)
	if err != nil {
		t.log.Warn("ignoring an unreadable attestation in the cache", "url", store.Shown(stmtURL), "error", err)
		return nil, nil
	}
	if want := key.format; stmt.Format != want {
		t.log.Info("the cached attestation is SLSA "+string(stmt.Format)+", this run writes "+string(want)+": rebuilding", "url", store.Shown(stmtURL))
		return nil, nil
	}
	arts, ok, err := verifyCachedSubjects(ctx, t, store, cfg, key.url, stmt)
	if err != nil || !ok {
		return nil, err
	}
	res := &Result{StagingKey: key.key, StagingURL: key.url, Cached: true, Statement: stmt, Artifacts: arts}
	if cfg.Provenance != "" {
		dir, err := provenanceDir(outDir, cfg.Provenance)
		if err != nil {
			return nil, err
		}
		res.StatementPath = filepath.Join(dir, StatementName)
		if err := outfile.WriteAtomic(res.StatementPath, data, 0o644); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// fetchStatement gets the statement published under stagingURL into the
// workspace and reads it, within the attestation size limit: what is at a
// destination is untrusted.
func fetchStatement(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, stagingURL string) ([]byte, error) {
	dest, err := t.ws.StagingPath(StatementName)
	if err != nil {
		return nil, err
	}
	if _, err := store.Get(ctx, remote.Join(stagingURL, StatementName), dest, remote.Quiet(), remote.WithOptions(cfg.Artifacts.Options)); err != nil {
		return nil, err
	}
	return attestation.ReadFile(dest)
}

// verifyCachedSubjects checks every subject of a cached statement. Subjects
// sent by a transfer are verified at the destination this config gives
// that transfer (the staging key covers the config, so the transfers are the
// same ones in the same order); the others at the staging URL.
func verifyCachedSubjects(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, stagingURL string, stmt *provenance.Record) ([]Artifact, bool, error) {
	recorded := recordedTransfers(stmt)
	if len(recorded) > len(cfg.Transfers) {
		t.log.Warn("cached attestation records more transfers than the config has: rebuilding", "url", store.Shown(stagingURL))
		return nil, false, nil
	}
	transferred := map[string][]cachedObject{}
	for i, tr := range recorded {
		for _, name := range tr.Files {
			transferred[name] = append(transferred[name], cachedObject{remote.Join(cfg.Transfers[i].Destination, name), cfg.Transfers[i].Options})
		}
	}
	images := recordedImages(stmt)
	var arts []Artifact
	for _, sub := range stmt.Subjects {
		s := struct {
			Name   string
			Digest provenance.Digest
		}{sub.URI, sub.Digest}
		// An image is in its registry, not at the staging URL.
		if rec, ok := images[s.Name]; ok {
			if ok, err := verifyCachedImage(ctx, t, store, cfg, rec, s.Digest); err != nil || !ok {
				return nil, false, err
			}
			continue
		}
		// A subject is published under a plain file name, and nothing else
		// may name a path.
		if !workspace.PlainName(s.Name) {
			t.log.Warn("ignoring a cached attestation with an invalid subject name", "url", store.Shown(stagingURL), "name", s.Name)
			return nil, false, nil
		}
		u := remote.Join(stagingURL, s.Name)
		set, size, ok, err := verifyCached(ctx, t, store, cachedObject{u, cfg.Artifacts.Options}, s.Name, s.Digest, len(transferred[s.Name]) > 0)
		if err != nil || !ok {
			return nil, false, err
		}
		if set != nil {
			arts = append(arts, Artifact{Name: s.Name, Digest: set, Size: size, URL: u})
		}
		for _, tu := range transferred[s.Name] {
			if _, _, ok, err := verifyCached(ctx, t, store, tu, s.Name, s.Digest, false); err != nil || !ok {
				return nil, false, err
			}
		}
	}
	return arts, true, nil
}

// verifyCached fetches u and checks it against the recorded digest. It
// returns ok=false (after saying why) when the object is missing or differs:
// the cache does not hold this build. With optional, a missing object is
// fine and reported as a nil set.
// cachedObject is where a cached subject is, and the options of that use.
type cachedObject struct {
	url     string
	options map[string]string
}

func verifyCached(ctx context.Context, t tools, store *remote.Store, obj cachedObject, name string, want map[string]string, optional bool) (digest.Set, int64, bool, error) {
	u := obj.url
	local, err := t.ws.StagingPath(name)
	if err != nil {
		return nil, 0, false, err
	}
	defer os.RemoveAll(filepath.Dir(local))
	if _, err := store.Get(ctx, u, local, remote.Quiet(), remote.WithOptions(obj.options)); err != nil {
		if !errors.Is(err, remote.ErrNotFound) {
			return nil, 0, false, err
		}
		if optional {
			return nil, 0, true, nil
		}
		t.log.Warn("cached build is incomplete: rebuilding", "missing", store.Shown(u))
		return nil, 0, false, nil
	}
	set, size, err := digest.File(local, digest.SHA512)
	if err != nil {
		return nil, 0, false, err
	}
	if err := digest.Matches(digest.Set(want), set); err != nil {
		t.log.Warn("cached artifact does not match its attestation: rebuilding", "url", store.Shown(u), "error", err)
		return nil, 0, false, nil
	}
	return set, size, true, nil
}
