package run

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/workspace"
)

// Output variables written for the next build of a pipeline.
const (
	StagingPathVar = "MMBUILD_STAGING_PATH"
	StagingURLVar  = "MMBUILD_STAGING_URL"
	// DefaultOutputEnv is the dotenv file written in the work tree.
	DefaultOutputEnv = "build.env"
)

func joinWork(workDir, rel string) (string, error) { return workspace.Join(workDir, rel) }

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
func (r *runner) writeOutputs(res *Result) error {
	var b strings.Builder
	for _, kv := range OutputVars(res) {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	data := r.redact.bytes([]byte(b.String()))
	path := r.o.outputEnv
	if path == "" {
		path = filepath.Join(r.outputDir(), DefaultOutputEnv)
	}
	if err := writeFileAtomic(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	res.OutputEnvPath = path
	if gh, ok := r.o.lookupEnv("GITHUB_OUTPUT"); ok && gh != "" {
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
