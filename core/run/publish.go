package run

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mmbuild/mmbuild/core/digest"
	"github.com/mmbuild/mmbuild/core/provenance"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// publish uploads the artifacts, then the transfers, then the attestation
// last: a destination without an attestation is an incomplete build.
func (r *runner) publish(ctx context.Context, res *Result, transfers []transferSet, statement []byte) error {
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
	tmp, err := r.ws.StagingPath(StatementName)
	if err != nil {
		return err
	}
	if err := os.WriteFile(tmp, statement, 0o644); err != nil {
		return err
	}
	if err := r.put(ctx, tmp, joinURL(res.StagingURL, StatementName)); err != nil {
		return fmt.Errorf("publishing attestation: %w", err)
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
	var arts []Artifact
	for _, s := range stmt.Subject {
		u := joinURL(res.StagingURL, s.Name)
		local, err := r.ws.StagingPath(s.Name)
		if err != nil {
			return false, err
		}
		if _, err := st.Get(ctx, &storage.GetRequest{URL: u, DestPath: local, Options: r.storageOptions(u)}); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				r.o.logger.Warn("cached build is incomplete: rebuilding", "missing", redactURL(u))
				return false, nil
			}
			return false, fmt.Errorf("verifying cached artifact %s: %w", redactURL(u), p.Explain(err))
		}
		set, size, err := digest.File(local, digest.SHA512)
		if err != nil {
			return false, err
		}
		if err := digest.Matches(digest.Set(s.Digest), set); err != nil {
			r.o.logger.Warn("cached artifact does not match its attestation: rebuilding", "url", redactURL(u), "error", err)
			return false, nil
		}
		arts = append(arts, Artifact{Name: s.Name, Digest: set, Size: size, URL: u})
	}
	res.Cached = true
	res.Statement = stmt
	res.Artifacts = arts
	if r.cfg.Provenance != "" {
		dir, err := joinWork(r.workDir, r.cfg.Provenance)
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
