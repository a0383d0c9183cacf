package run

import (
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
func writeOutputs(t tools, paths outputPaths, res *Result) error {
	l := newLocalOutputs(paths)
	if err := l.stageOutputs(t, paths, res); err != nil {
		return err
	}
	if err := l.write(); err != nil {
		return err
	}
	return l.commit()
}
