package run

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Output variables written for the next build of a pipeline.
const (
	StagingPathVar = "MMBUILD_STAGING_PATH"
	StagingURLVar  = "MMBUILD_STAGING_URL"
	// DefaultOutputEnv is the dotenv file written in the work tree.
	DefaultOutputEnv = "build.env"
)

var nonVarChars = regexp.MustCompile(`[^A-Za-z0-9]+`)

// OutputVars are the variables a build hands to the next one.
func OutputVars(res *Result) [][2]string {
	vars := [][2]string{
		{StagingPathVar, res.StagingKey},
		{StagingURLVar, res.StagingURL},
	}
	for _, a := range res.Artifacts {
		if a.URL == "" {
			continue
		}
		name := "MMBUILD_ARTIFACT_" + strings.Trim(strings.ToUpper(nonVarChars.ReplaceAllString(a.Name, "_")), "_") + "_URL"
		vars = append(vars, [2]string{name, a.URL})
	}
	return vars
}

// writeOutputs writes the dotenv file and appends to $GITHUB_OUTPUT at
// once (a cache hit: nothing is published).
func writeOutputs(t tools, outDir string, res *Result) error {
	l := &localOutputs{}
	if err := l.stageOutputs(t, outDir, res); err != nil {
		l.discard()
		return err
	}
	return l.commit()
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder, so a reader never sees a half-written file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// writeTemp writes data, synced, to a new temporary file beside path and
// returns its name.
func writeTemp(path string, data []byte, mode os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, mode)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return "", werr
	}
	return tmp, nil
}
