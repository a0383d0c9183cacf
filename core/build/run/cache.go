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
	"github.com/mmbuild/mmbuild/core/build/storeindex"
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
	case errors.Is(err, storage.ErrChanged):
		t.log.Warn("the cached attestation kept changing while it was read (another run is publishing it): rebuilding", "url", store.Shown(stmtURL))
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
	arts, _, ok, err := verifyCachedSubjects(ctx, t, store, cfg, key.url, stmt, indexLoader(t, store, cfg, key.url))
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
	dest, err := fetchBeside(ctx, t, store, cfg, stagingURL, StatementName)
	if err != nil {
		return nil, err
	}
	return attestation.ReadFile(dest)
}

// fetchBeside gets the file name published beside the attestation at
// stagingURL (the attestation itself, the store index) into the workspace
// and returns its path there.
func fetchBeside(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, stagingURL, name string, opts ...remote.GetOption) (string, error) {
	dest, err := t.ws.StagingPath(name)
	if err != nil {
		return "", err
	}
	opts = append([]remote.GetOption{remote.Quiet(), remote.WithOptions(cfg.Artifacts.Options)}, opts...)
	if _, err := store.Get(ctx, remote.Join(stagingURL, name), dest, opts...); err != nil {
		return "", err
	}
	return dest, nil
}

// verifyCachedSubjects checks every subject of a cached statement. Subjects
// sent by a transfer are verified at the destination this config gives
// that transfer (the staging key covers the config, so the transfers are the
// same ones in the same order); the others at the staging URL. It returns
// the artifacts, and what the store said of each object it vouched for in
// a store that lists folders (what a run publishes as its store index). index, when not nil, gives the
// store index of an earlier run (see checkCachedObjects).
func verifyCachedSubjects(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, stagingURL string, stmt *provenance.Record, index func(context.Context) *storeindex.Index) ([]Artifact, []storeindex.Object, bool, error) {
	recorded := recordedTransfers(stmt)
	if len(recorded) > len(cfg.Transfers) {
		t.log.Warn("cached attestation records more transfers than the config has: rebuilding", "url", store.Shown(stagingURL))
		return nil, nil, false, nil
	}
	transferred := map[string][]cachedObject{}
	for i, tr := range recorded {
		for _, name := range tr.Files {
			transferred[name] = append(transferred[name], cachedObject{remote.Join(cfg.Transfers[i].Destination, name), cfg.Transfers[i].Options, fmt.Sprintf("transfers[%d].destination", i),
				cfg.Transfers[i].Destination, name})
		}
	}
	images := recordedImages(stmt)
	var checks []cachedCheck
	for _, sub := range stmt.Subjects {
		name, want := sub.URI, sub.Digest
		// An image is in its registry, not at the staging URL.
		if rec, ok := images[name]; ok {
			if ok, err := verifyCachedImage(ctx, t, store, cfg, rec, want); err != nil || !ok {
				return nil, nil, false, err
			}
			continue
		}
		// A subject is published under a plain file name, and nothing else
		// may name a path.
		if !workspace.PlainName(name) {
			t.log.Warn("ignoring a cached attestation with an invalid subject name", "url", store.Shown(stagingURL), "name", name)
			return nil, nil, false, nil
		}
		checks = append(checks, cachedCheck{obj: cachedObject{remote.Join(stagingURL, name), cfg.Artifacts.Options, destinationPath, stagingURL, name}, name: name, want: want,
			optional: len(transferred[name]) > 0, artifact: true})
		for _, tu := range transferred[name] {
			checks = append(checks, cachedCheck{obj: tu, name: name, want: want})
		}
	}
	ok, err := checkCachedObjects(ctx, t, store, cfg, checks, index)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	var arts []Artifact
	var vouched []storeindex.Object
	for _, c := range checks {
		if c.artifact && c.set != nil {
			arts = append(arts, Artifact{Name: c.name, Digest: c.set, Size: c.size, URL: c.obj.url})
		}
		if c.version != "" && store.Capable(c.obj.dir, storage.CapabilityList) {
			vouched = append(vouched, storeindex.Object{At: c.obj.where, Name: c.obj.name, Size: c.size, Version: c.version, SHA256: c.want[digest.SHA256]})
		}
	}
	return arts, vouched, true, nil
}

// cachedObject is where a cached subject is, the options of that use, the
// use's config path (for errors), and the folder (the use's URL) and name
// it is under.
type cachedObject struct {
	url       string
	options   map[string]string
	where     string
	dir, name string
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
	// optional object. version is the store's version of an object whose
	// digest it vouched for when asked (not from an index).
	set     digest.Set
	size    int64
	version string
}

// checkCachedObjects checks that every object is there with its recorded
// digest. Where the store vouches for a digest without sending the bytes
// (storage.CapabilityContentDigest: a checksum it verified on upload, a
// content address, a file hashed in place) its word is compared with the
// recorded sha256, all objects of a store in one batch; the others are
// downloaded and hashed by the core. Before that, with index (the store
// index an earlier run published, loaded only when some object's store
// lists folders), the objects the folders' listings show unchanged since
// the store vouched for them are taken as checked (see storeindex). It
// returns ok=false (after saying why) when an object is missing or
// differs: the cache does not hold this build.
func checkCachedObjects(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, checks []cachedCheck, index func(context.Context) *storeindex.Index) (bool, error) {
	download := map[int]bool{}
	for i := range checks {
		download[i] = true
	}
	if index != nil {
		for _, i := range vouchByListing(ctx, t, store, checks, index) {
			delete(download, i)
		}
	}
	var byAddress []int
	var items []remote.StatItem
	for i, c := range checks {
		if download[i] && c.want[digest.SHA256] != "" && store.Capable(c.obj.url, storage.CapabilityContentDigest) {
			byAddress = append(byAddress, i)
			items = append(items, remote.StatItem{URL: c.obj.url, Options: c.obj.options})
		}
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
				c.set, c.size, c.version = digest.Set(c.want), r.Stat.Size, r.Stat.Version
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

// vouchByListing takes as checked the objects whose folders' listings show
// them unchanged since an earlier run's store index recorded them with the
// wanted digest, and returns their indexes in checks. Only objects whose
// store lists folders are looked at; the index is loaded only then. A
// listing that fails vouches for nothing: its objects are asked about one
// by one, as without an index.
func vouchByListing(ctx context.Context, t tools, store *remote.Store, checks []cachedCheck, index func(context.Context) *storeindex.Index) []int {
	var at []int
	var wants []storeindex.Want
	for i, c := range checks {
		if sum := c.want[digest.SHA256]; sum != "" && store.Capable(c.obj.dir, storage.CapabilityList) {
			at = append(at, i)
			wants = append(wants, storeindex.Want{At: c.obj.where, Dir: c.obj.dir, Name: c.obj.name, Options: c.obj.options, SHA256: sum})
		}
	}
	if len(wants) == 0 {
		return nil
	}
	ix := index(ctx)
	if ix == nil {
		return nil
	}
	sizes, err := ix.Vouch(ctx, store, wants)
	if err != nil {
		t.log.Debug("checking the cached objects one by one", "error", err)
	}
	var done []int
	for j, size := range sizes {
		if size >= 0 {
			c := &checks[at[j]]
			c.set, c.size = digest.Set(c.want), size
			done = append(done, at[j])
		}
	}
	t.log.Debug("checked by listing", "objects", len(done), "of", len(wants))
	return done
}

// indexLoader returns the loader of the store index published beside the
// attestation at stagingURL: nil (and a line in the log) when there is
// none or it does not read, which only costs time.
func indexLoader(t tools, store *remote.Store, cfg *config.Config, stagingURL string) func(context.Context) *storeindex.Index {
	return func(ctx context.Context) *storeindex.Index {
		u := remote.Join(stagingURL, storeindex.Name)
		dest, err := fetchBeside(ctx, t, store, cfg, stagingURL, storeindex.Name, remote.WithMaxBytes(storeindex.MaxSize))
		var ix *storeindex.Index
		if err == nil {
			ix, err = storeindex.Read(dest)
		}
		switch {
		case errors.Is(err, remote.ErrNotFound):
			t.log.Debug("no store index beside the cached attestation", "url", store.Shown(u))
		case err != nil:
			t.log.Warn("ignoring the store index beside the cached attestation", "url", store.Shown(u), "error", err)
		}
		return ix
	}
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
