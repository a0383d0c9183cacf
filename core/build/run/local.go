package run

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/outfile"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
)

// localOutputs are the files a run leaves on this machine (the copies of
// the evidence in provenance:, the dotenv file), written to temporary files
// beside their places BEFORE anything is published and renamed into place
// after: a full disk or an unwritable folder fails the run while the
// destination is still untouched, and a failed run leaves none of them.
type localOutputs struct {
	pending []outfile.File // to stage, written together by write
	staged  []stagedFile
	github  string // $GITHUB_OUTPUT, appended to on commit
	dotenv  []byte
	inputs  []string // the project's files no output may replace
}

// newLocalOutputs returns the local outputs of a run: none of them may
// land on the config or on a file WithInputs names (the lock).
func newLocalOutputs(paths outputPaths) *localOutputs {
	return &localOutputs{inputs: paths.inputs}
}

type stagedFile struct {
	tmp, final string
}

// stageLocal writes the local outputs of a run whose result will be res
// (its artifact URLs already those publish gives them) to temporary files.
func stageLocal(t tools, cfg *config.Config, outDir string, paths outputPaths, ev *evidence.Evidence, res *Result) (*localOutputs, error) {
	l := newLocalOutputs(paths)
	if cfg.Provenance != "" {
		dir, err := provenanceDir(outDir, cfg.Provenance)
		if err != nil {
			return nil, fmt.Errorf("%s: provenance: %w", cfg.PositionOf("provenance"), err)
		}
		for _, f := range ev.Files() {
			l.stage(filepath.Join(dir, f.Name), f.Data)
		}
		res.StatementPath = filepath.Join(dir, StatementName)
		if ev.Bundle != nil {
			res.BundlePath = filepath.Join(dir, BundleName)
		}
		if ev.Sigstore != nil {
			res.SigstorePath = filepath.Join(dir, SigstoreName)
		}
		for _, sb := range ev.SBOMs {
			res.SBOMPaths = append(res.SBOMPaths, filepath.Join(dir, sbom.FileName(sb.Format)))
		}
	}
	if err := l.stageOutputs(t, paths, res); err != nil {
		return nil, err
	}
	// One write for all, so that their syncs are committed together.
	if err := l.write(); err != nil {
		var we *outfile.WriteError
		if errors.As(err, &we) && cfg.Provenance != "" && we.Path != res.OutputEnvPath {
			return nil, fmt.Errorf("%s: provenance: %w", cfg.PositionOf("provenance"), err)
		}
		return nil, err
	}
	return l, nil
}

// stageOutputs adds the dotenv file to write and checks $GITHUB_OUTPUT can be
// appended to.
func (l *localOutputs) stageOutputs(t tools, paths outputPaths, res *Result) error {
	l.dotenv = dotenv(t, res)
	l.stage(paths.env, l.dotenv)
	res.OutputEnvPath = paths.env
	if gh := paths.github; gh != "" {
		if err := outfile.Check(gh, l.inputs...); err != nil {
			return fmt.Errorf("$GITHUB_OUTPUT: %w", err)
		}
		f, err := os.OpenFile(gh, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("appending to $GITHUB_OUTPUT: %w", err)
		}
		f.Close()
		l.github = gh
	}
	return nil
}

// stage adds a file to write; write writes them all to temporary files
// beside their places (none, on error).
func (l *localOutputs) stage(final string, data []byte) {
	l.pending = append(l.pending, outfile.File{Path: final, Data: data})
}

func (l *localOutputs) write() error {
	for _, f := range l.pending {
		if err := outfile.Check(f.Path, l.inputs...); err != nil {
			return err
		}
	}
	tmps, err := outfile.TempAll(l.pending, 0o644)
	if err != nil {
		return err
	}
	for i, f := range l.pending {
		if tmps[i] != "" { // "": the file holds the bytes already
			l.staged = append(l.staged, stagedFile{tmp: tmps[i], final: f.Path})
		}
	}
	l.pending = nil
	return nil
}

// commit moves the staged files into place and appends to $GITHUB_OUTPUT.
func (l *localOutputs) commit() error {
	for i, f := range l.staged {
		if err := os.Rename(f.tmp, f.final); err != nil {
			l.staged = l.staged[i:]
			l.discard()
			return fmt.Errorf("writing %s: %w", f.final, err)
		}
	}
	l.staged = nil
	if l.github == "" {
		return nil
	}
	f, err := os.OpenFile(l.github, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("appending to $GITHUB_OUTPUT: %w", err)
	}
	_, werr := f.Write(l.dotenv)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("appending to $GITHUB_OUTPUT: %w", werr)
	}
	return nil
}

// discard removes what is still staged.
func (l *localOutputs) discard() {
	for _, f := range l.staged {
		_ = os.Remove(f.tmp)
	}
	l.staged = nil
}

// dotenv is the dotenv file of res, secrets redacted.
func dotenv(t tools, res *Result) []byte {
	var b strings.Builder
	for _, kv := range OutputVars(res) {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	return t.red.Bytes([]byte(b.String()))
}

// provenanceDir is the folder provenance: names: an absolute path as it
// is (the user's own output folder), a relative one inside outDir.
func provenanceDir(outDir, p string) (string, error) {
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	return workspace.Join(outDir, p)
}
