package run

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// publish uploads the artifacts, then the transfers, then the attestation
// last: a destination without an attestation is an incomplete build.
func (r *runner) publish(ctx context.Context, res *Result, transfers []transferSet, statement []byte, trust *trustOutputs) error {
	if res.StagingURL != "" {
		for i := range res.Artifacts {
			a := &res.Artifacts[i]
			u := joinURL(res.StagingURL, a.Name)
			if err := r.put(ctx, a.Path, u); err != nil {
				return fmt.Errorf("publishing artifact %s: %w", a.Name, err)
			}
			a.URL = u
		}
	}
	for _, t := range transfers {
		for _, f := range t.files {
			if err := r.put(ctx, f.Path, joinURL(t.destination, f.Name)); err != nil {
				return fmt.Errorf("transferring %s: %w", f.Name, err)
			}
		}
	}
	if res.StagingURL == "" {
		return nil
	}
	// The SBOM and the signed bundle, then the plain statement last: its
	// presence marks a complete build.
	last := []struct {
		name string
		data []byte
	}{{SBOMName, trust.sbom}, {BundleName, trust.bundle}, {StatementName, statement}}
	for _, f := range last {
		if f.data == nil {
			continue
		}
		tmp, err := r.ws.StagingPath(f.name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
			return err
		}
		if err := r.put(ctx, tmp, joinURL(res.StagingURL, f.name)); err != nil {
			return fmt.Errorf("publishing %s: %w", f.name, err)
		}
	}
	r.o.logger.Info("published", "staging_url", res.StagingURL, "artifacts", len(res.Artifacts))
	return nil
}

func (r *runner) put(ctx context.Context, path, u string) error {
	st, p, err := r.storageFor(u)
	if err != nil {
		return err
	}
	resp, err := st.Put(ctx, &storage.PutRequest{SourcePath: path, URL: u, Options: r.storageOptions(u), Progress: r.progressFunc("put", u)})
	if err != nil {
		return fmt.Errorf("%s: %w", redactURL(u), p.Explain(err))
	}
	r.o.progress.Finish("put", redactURL(u), resp.Bytes)
	return nil
}

// lookupCache reports whether the staging URL already holds a complete,
// verified build: the attestation parses, and every subject it names is
// there with the recorded sha256 (hashed here, by the core).
func (r *runner) lookupCache(ctx context.Context, res *Result) (bool, error) {
	stmtURL := joinURL(res.StagingURL, StatementName)
	st, p, err := r.storageFor(stmtURL)
	if err != nil {
		return false, err
	}
	dest, err := r.ws.StagingPath(StatementName)
	if err != nil {
		return false, err
	}
	if _, err := st.Get(ctx, &storage.GetRequest{URL: stmtURL, DestPath: dest, Options: r.storageOptions(stmtURL)}); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("looking up the build cache at %s: %w", redactURL(stmtURL), p.Explain(err))
	}
	data, err := os.ReadFile(dest)
	if err != nil {
		return false, err
	}
	stmt, err := provenance.Parse(data)
	if err != nil {
		r.o.logger.Warn("ignoring an unreadable attestation in the cache", "url", redactURL(stmtURL), "error", err)
		return false, nil
	}
	// Subjects sent by a transfer are verified at the destination this
	// config gives that transfer (the staging key covers the config, so
	// the transfers are the same ones in the same order); the others at the
	// staging URL.
	transferred := map[string][]string{}
	recorded := recordedTransfers(stmt)
	if len(recorded) > len(r.cfg.Transfers) {
		r.o.logger.Warn("cached attestation records more transfers than the config has: rebuilding", "url", redactURL(stmtURL))
		return false, nil
	}
	for i, t := range recorded {
		for _, name := range t.Files {
			transferred[name] = append(transferred[name], joinURL(r.cfg.Transfers[i].Destination, name))
		}
	}
	var arts []Artifact
	for _, s := range stmt.Subject {
		// The attestation is untrusted: a subject is published under a
		// plain file name, and nothing else may name a path.
		if s.Name == "" || s.Name == "." || s.Name == ".." || strings.ContainsAny(s.Name, "/\\") {
			r.o.logger.Warn("ignoring a cached attestation with an invalid subject name", "url", redactURL(stmtURL), "name", s.Name)
			return false, nil
		}
		u := joinURL(res.StagingURL, s.Name)
		set, size, ok, err := r.verifyCached(ctx, u, s.Name, s.Digest, len(transferred[s.Name]) > 0)
		if err != nil || !ok {
			return false, err
		}
		if set != nil {
			arts = append(arts, Artifact{Name: s.Name, Digest: set, Size: size, URL: u})
		}
		for _, tu := range transferred[s.Name] {
			if _, _, ok, err := r.verifyCached(ctx, tu, s.Name, s.Digest, false); err != nil || !ok {
				return false, err
			}
		}
	}
	res.Cached = true
	res.Statement = stmt
	res.Artifacts = arts
	if r.cfg.Provenance != "" {
		dir, err := joinWork(r.outputDir(), r.cfg.Provenance)
		if err != nil {
			return false, err
		}
		res.StatementPath = dir + "/" + StatementName
		if err := writeFileAtomic(res.StatementPath, data, 0o644); err != nil {
			return false, fmt.Errorf("writing attestation: %w", err)
		}
	}
	return true, nil
}

// verifyCached fetches u and checks it against the recorded digest. It
// returns ok=false (after saying why) when the object is missing or differs:
// the cache does not hold this build. With optional, a missing object is
// fine and reported as a nil set.
func (r *runner) verifyCached(ctx context.Context, u, name string, want map[string]string, optional bool) (digest.Set, int64, bool, error) {
	st, p, err := r.storageFor(u)
	if err != nil {
		return nil, 0, false, err
	}
	local, err := r.ws.StagingPath(name)
	if err != nil {
		return nil, 0, false, err
	}
	defer os.RemoveAll(filepath.Dir(local))
	if _, err := st.Get(ctx, &storage.GetRequest{URL: u, DestPath: local, Options: r.storageOptions(u)}); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if optional {
				return nil, 0, true, nil
			}
			r.o.logger.Warn("cached build is incomplete: rebuilding", "missing", redactURL(u))
			return nil, 0, false, nil
		}
		return nil, 0, false, fmt.Errorf("verifying cached artifact %s: %w", redactURL(u), p.Explain(err))
	}
	set, size, err := digest.File(local, digest.SHA512)
	if err != nil {
		return nil, 0, false, err
	}
	if err := digest.Matches(digest.Set(want), set); err != nil {
		r.o.logger.Warn("cached artifact does not match its attestation: rebuilding", "url", redactURL(u), "error", err)
		return nil, 0, false, nil
	}
	return set, size, true, nil
}
