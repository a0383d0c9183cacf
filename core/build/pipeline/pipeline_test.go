package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/run"
)

const buildConfig = `handler: {id: make}
materials:
  - uri: ${MMBUILD_STAGING_URL}/in.txt
artifacts:
  destination: file://${MMBUILD_PIPELINE_DIR}/out/
  files: [x]
`

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"ok", "builds:\n  - name: a\n    config: a.yaml\n", ""},
		{"empty", "builds: []\n", "no builds"},
		{"unknown key", "builds:\n  - name: a\n    config: a.yaml\n    color: red\n", "field color not found"},
		{"bad name", "builds:\n  - name: 1a\n    config: a.yaml\n", `p.yaml:2: builds[0]: name "1a"`},
		{"duplicate", "builds:\n  - name: a\n    config: a.yaml\n  - name: a\n    config: b.yaml\n", `p.yaml:4: builds[1]: duplicate name "a"`},
		{"no config", "builds:\n  - name: a\n", "config is required"},
		{"not yaml", "builds: [\n", "p.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.yaml")
			writeFile(t, path, tt.yaml)
			_, err := Load(path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// Each build sees the outputs of the one before under the plain names and
// of every earlier one under prefixed names, and its config is expanded
// with them; a failing build stops the pipeline.
func TestRunHandsOutputsOn(t *testing.T) {
	dir := t.TempDir()
	for _, b := range []string{"web-app", "server", "never"} {
		writeFile(t, filepath.Join(dir, b, "mmbuild.yaml"), buildConfig)
	}
	path := filepath.Join(dir, "pipeline.yaml")
	writeFile(t, path, "builds:\n  - {name: web-app, config: web-app/mmbuild.yaml}\n  - {name: server, config: server/mmbuild.yaml}\n  - {name: never, config: never/mmbuild.yaml}\n")
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string]string{}
	var materials []string
	runOne := func(_ context.Context, b Build, cfg *config.Config, lookup func(string) (string, bool), outEnv string) (*run.Result, error) {
		env := map[string]string{}
		for _, k := range []string{"MMBUILD_STAGING_URL", "MMBUILD_WEB_APP_STAGING_URL", DirVar} {
			if v, ok := lookup(k); ok {
				env[k] = v
			}
		}
		seen[b.Name] = env
		materials = append(materials, cfg.Materials[0].URI)
		if want := filepath.Join(dir, b.Name, run.DefaultOutputEnv); outEnv != want {
			t.Errorf("%s: output env %s, want %s", b.Name, outEnv, want)
		}
		if b.Name == "server" {
			return nil, errors.New("the builder failed")
		}
		return &run.Result{StagingKey: "k-" + b.Name, StagingURL: "file:///s/k-" + b.Name}, nil
	}
	lookup := func(k string) (string, bool) {
		if k == "MMBUILD_STAGING_URL" {
			return "file:///from-ci", true
		}
		return "", false
	}
	steps, err := Run(context.Background(), p, lookup, runOne)
	if err == nil || !strings.Contains(err.Error(), "pipeline build 2/3 server: the builder failed") {
		t.Fatalf("err = %v", err)
	}
	if len(steps) != 1 || steps[0].Name != "web-app" || seen["never"] != nil {
		t.Fatalf("steps %+v; a failing build must stop the pipeline", steps)
	}
	if seen["web-app"]["MMBUILD_STAGING_URL"] != "file:///from-ci" || seen["web-app"][DirVar] != dir {
		t.Fatalf("first build env: %v", seen["web-app"])
	}
	if seen["server"]["MMBUILD_STAGING_URL"] != "file:///s/k-web-app" || seen["server"]["MMBUILD_WEB_APP_STAGING_URL"] != "file:///s/k-web-app" {
		t.Fatalf("second build env: %v", seen["server"])
	}
	if materials[1] != "file:///s/k-web-app/in.txt" {
		t.Fatalf("second build's config expanded to %s", materials[1])
	}
}
