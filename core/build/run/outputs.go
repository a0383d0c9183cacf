package run

import (
	"fmt"
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

// writeOutputs writes the dotenv file and appends to $GITHUB_OUTPUT.
func writeOutputs(t tools, outDir string, res *Result) error {
	var b strings.Builder
	for _, kv := range OutputVars(res) {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	data := t.red.Bytes([]byte(b.String()))
	path := t.o.outputEnv
	if path == "" {
		path = filepath.Join(outDir, DefaultOutputEnv)
	}
	if err := writeFileAtomic(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	res.OutputEnvPath = path
	if gh, ok := t.o.lookupEnv("GITHUB_OUTPUT"); ok && gh != "" {
		f, err := os.OpenFile(gh, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("appending to $GITHUB_OUTPUT: %w", err)
		}
		_, werr := f.Write(data)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("appending to $GITHUB_OUTPUT: %w", werr)
		}
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder, so a reader never sees a half-written file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
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
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
	}
	return werr
}
