// Package pipeline chains builds on one machine: each build's outputs (the
// dotenv variables a CI job would hand to the next job) become environment
// of the builds after it, exactly as GitLab's dotenv reports or GitHub's job
// outputs carry them between CI jobs.
package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/run"
)

// DirVar holds the pipeline file's folder while its builds run, so that
// configs can name shared places (file://${MMBUILD_PIPELINE_DIR}/out/).
const DirVar = "MMBUILD_PIPELINE_DIR"

// Pipeline is a pipeline file:
//
//	builds:
//	  - name: webapp
//	    config: webapp/mmbuild.yaml   # relative to the pipeline file
//	  - name: server
//	    config: server/mmbuild.yaml
//	    workdir: server               # optional; default: the config's folder
type Pipeline struct {
	Path   string  `yaml:"-"`
	Builds []Build `yaml:"builds"`
}

// Build is one step.
type Build struct {
	Name    string `yaml:"name"`
	Config  string `yaml:"config"`
	WorkDir string `yaml:"workdir"`
	line    int
}

var namePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// Load reads and checks a pipeline file.
func Load(path string) (*Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading pipeline: %w", err)
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Pipeline
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %s", path, oneLine(err.Error()))
	}
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %s", path, oneLine(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:")))
	}
	p.Path = path
	lines := buildLines(&root)
	if len(p.Builds) == 0 {
		return nil, fmt.Errorf("%s: no builds", path)
	}
	seen := map[string]bool{}
	for i := range p.Builds {
		b := &p.Builds[i]
		if i < len(lines) {
			b.line = lines[i]
		}
		where := fmt.Sprintf("%s:%d: builds[%d]", path, b.line, i)
		if !namePattern.MatchString(b.Name) {
			return nil, fmt.Errorf("%s: name %q must match %s", where, b.Name, namePattern)
		}
		if seen[b.Name] {
			return nil, fmt.Errorf("%s: duplicate name %q", where, b.Name)
		}
		seen[b.Name] = true
		if b.Config == "" {
			return nil, fmt.Errorf("%s: config is required", where)
		}
	}
	return &p, nil
}

func buildLines(root *yaml.Node) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "builds" {
			var out []int
			for _, n := range m.Content[i+1].Content {
				out = append(out, n.Line)
			}
			return out
		}
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// StepResult is one finished build.
type StepResult struct {
	Name    string
	Result  *run.Result
	Outputs [][2]string
}

// RunFunc runs one loaded config with the given environment lookup; the
// CLI supplies it (plugin host, output streams, flags).
type RunFunc func(ctx context.Context, b Build, cfg *config.Config, lookup func(string) (string, bool), outputEnv string) (*run.Result, error)

// Run runs the builds in order. Each build sees the running environment,
// overlaid with DirVar and every earlier build's outputs: the plain names
// (MMBUILD_STAGING_URL, …) from the build just before, and prefixed copies
// (MMBUILD_<NAME>_STAGING_URL) from every earlier build. A failing build
// stops the pipeline.
func Run(ctx context.Context, p *Pipeline, lookup func(string) (string, bool), runOne RunFunc) ([]StepResult, error) {
	dir, err := filepath.Abs(filepath.Dir(p.Path))
	if err != nil {
		return nil, err
	}
	overlay := map[string]string{DirVar: dir}
	env := func(k string) (string, bool) {
		if v, ok := overlay[k]; ok {
			return v, true
		}
		return lookup(k)
	}
	var results []StepResult
	for i, b := range p.Builds {
		cfgPath := b.Config
		if !filepath.IsAbs(cfgPath) {
			cfgPath = filepath.Join(dir, cfgPath)
		}
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return results, fmt.Errorf("pipeline build %s: %w", b.Name, err)
		}
		if err := cfg.Expand(env); err != nil {
			return results, fmt.Errorf("pipeline build %s: %w", b.Name, err)
		}
		if b.WorkDir != "" && !filepath.IsAbs(b.WorkDir) {
			b.WorkDir = filepath.Join(dir, b.WorkDir)
		}
		outEnv := filepath.Join(filepath.Dir(cfgPath), run.DefaultOutputEnv)
		if b.WorkDir != "" {
			outEnv = filepath.Join(b.WorkDir, run.DefaultOutputEnv)
		}
		res, err := runOne(ctx, b, cfg, env, outEnv)
		if err != nil {
			return results, fmt.Errorf("pipeline build %d/%d %s: %w", i+1, len(p.Builds), b.Name, err)
		}
		outs := run.OutputVars(res)
		results = append(results, StepResult{Name: b.Name, Result: res, Outputs: outs})
		prefix := "MMBUILD_" + strings.ToUpper(strings.ReplaceAll(b.Name, "-", "_")) + "_"
		for _, kv := range outs {
			overlay[kv[0]] = kv[1]
			overlay[prefix+strings.TrimPrefix(kv[0], "MMBUILD_")] = kv[1]
		}
	}
	return results, nil
}
