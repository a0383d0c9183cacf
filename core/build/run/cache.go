package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/outfile"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/sdk/storage"
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
		return nil, cacheError(cfg, destinationPath, key.url, err)
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
			transferred[name] = append(transferred[name], cachedObject{remote.Join(cfg.Transfers[i].Destination, name), cfg.Transfers[i].Options, fmt.Sprintf("transfers[%d].destination", i)})
		}
	}
	images := recordedImages(stmt)
	var checks []cachedCheck
	for _, sub := range stmt.Subjects {
		name, want := sub.URI, sub.Digest
		// An image is in its registry, not at the staging URL.
		if rec, ok := images[name]; ok {
			if ok, err := verifyCachedImage(ctx, t, store, cfg, rec, want); err != nil || !ok {
				return nil, false, err
			}
			continue
		}
		// A subject is published under a plain file name, and nothing else
		// may name a path.
		if !workspace.PlainName(name) {
			t.log.Warn("ignoring a cached attestation with an invalid subject name", "url", store.Shown(stagingURL), "name", name)
			return nil, false, nil
		}
		checks = append(checks, cachedCheck{obj: cachedObject{remote.Join(stagingURL, name), cfg.Artifacts.Options, destinationPath}, name: name, want: want,
			optional: len(transferred[name]) > 0, artifact: true})
		for _, tu := range transferred[name] {
			checks = append(checks, cachedCheck{obj: tu, name: name, want: want})
		}
	}
	ok, err := checkCachedObjects(ctx, t, store, cfg, checks)
	if err != nil || !ok {
		return nil, false, err
	}
	var arts []Artifact
	for _, c := range checks {
		if c.artifact && c.set != nil {
			arts = append(arts, Artifact{Name: c.name, Digest: c.set, Size: c.size, URL: c.obj.url})
		}
	}
	return arts, true, nil
}

// cachedObject is where a cached subject is, the options of that use, and
// the use's config path (for errors).
type cachedObject struct {
	url     string
	options map[string]string
	where   string
}

// destinationPath is the config path of the artifacts' destination.
const destinationPath = "artifacts.destination"

// cacheError says that err happened looking up the cache, and where in the
// config: the use (path, the position's; "" when err names it already)
// whose URL was looked at, and the credentials: entry that handed its
// plugin credentials for rawURL, so that a refused credential is reported
// at the entry that gave it.
func cacheError(cfg *config.Config, path, rawURL string, err error) error {
	at := "looking up the cache"
	if path != "" {
		at = fmt.Sprintf("%s: %s: %s", cfg.PositionOf(path), path, at)
	}
	if i := remote.MatchCredential(cfg.Credentials, rawURL); i >= 0 {
		cp := fmt.Sprintf("credentials[%d]", i)
		at += fmt.Sprintf(" with the credentials of %s (%s)", cp, cfg.PositionOf(cp))
	}
	return fmt.Errorf("%s: %w", at, err)
}

// cachedCheck is one object a cached build must hold, and what was found.
type cachedCheck struct {
	obj      cachedObject
	name     string
	want     map[string]string // the recorded digest
	optional bool              // missing is fine (the file went by a transfer)
	artifact bool              // at the staging URL: a Result's artifact
	// set and size are what the check found; set is nil for a missing
	// optional object.
	set  digest.Set
	size int64
}

// checkCachedObjects checks that every object is there with its recorded
// digest. Where the store vouches for a digest without sending the bytes
// (storage.CapabilityContentDigest: a checksum it verified on upload, a
// content address, a file hashed in place) its word is compared with the
// recorded sha256, all objects of a store in one batch; the others are
// downloaded and hashed by the core. It returns ok=false (after saying
// why) when an object is missing or differs: the cache does not hold
// this build.
func checkCachedObjects(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, checks []cachedCheck) (bool, error) {
	var byAddress []int
	var items []remote.StatItem
	for i, c := range checks {
		if c.want[digest.SHA256] != "" && store.Capable(c.obj.url, storage.CapabilityContentDigest) {
			byAddress = append(byAddress, i)
			items = append(items, remote.StatItem{URL: c.obj.url, Options: c.obj.options})
		}
	}
	download := map[int]bool{}
	for i := range checks {
		download[i] = true
	}
	if len(items) > 0 {
		results, err := store.StatMany(ctx, items)
		if err != nil {
			// A batch spans uses: it is named by its first one only when
			// it holds no other.
			first := checks[byAddress[0]].obj
			for _, i := range byAddress {
				if checks[i].obj.where != first.where {
					first.where, first.url = "", ""
				}
			}
			return false, cacheError(cfg, first.where, first.url, err)
		}
		for j, i := range byAddress {
			c := &checks[i]
			r := results[j]
			switch {
			case errors.Is(r.Err, remote.ErrNotFound):
				if !c.optional {
					t.log.Warn("cached build is incomplete: rebuilding", "missing", store.Shown(c.obj.url))
					return false, nil
				}
				delete(download, i)
			case r.Err != nil:
				return false, cacheError(cfg, c.obj.where, c.obj.url, r.Err)
			case r.Stat.ContentDigest == "":
				// This object has no digest the store vouches for (put
				// by another tool, a multipart upload without one):
				// download it.
			default:
				if want := digest.SHA256 + ":" + c.want[digest.SHA256]; r.Stat.ContentDigest != want {
					t.log.Warn("cached artifact does not match its attestation: rebuilding", "url", store.Shown(c.obj.url),
						"error", fmt.Sprintf("the store holds %s, the attestation records %s", r.Stat.ContentDigest, want))
					return false, nil
				}
				c.set, c.size = digest.Set(c.want), r.Stat.Size
				delete(download, i)
			}
		}
	}
	for i := range checks {
		if !download[i] {
			continue
		}
		c := &checks[i]
		set, size, ok, err := verifyCached(ctx, t, store, c.obj, c.name, c.want, c.optional)
		if err != nil {
			return false, cacheError(cfg, c.obj.where, c.obj.url, err)
		}
		if !ok {
			return false, nil
		}
		c.set, c.size = set, size
	}
	return true, nil
}

// verifyCached fetches obj and checks it against the recorded digest. It
// returns ok=false (after saying why) when the object is missing or
// differs: the cache does not hold this build. With optional, a missing
// object is fine and reported as a nil set.
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
