package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// A cataloger that fails (here: the tarball holds more than its max-bytes
// option allows) fails the run with one line naming the artifact and the
// plugin, and nothing is published or written; an unknown option of the
// cataloger is refused before anything runs, at its position.
func TestSBOMCatalogerFailure(t *testing.T) {
	in := testenv.NewInstall(t)
	for _, tc := range []struct {
		name, options, want string
		built               bool
	}{
		{"over max-bytes", `{max-bytes: "10"}`, "hello.tar.gz", true},
		{"unknown option", `{colour: red}`, "sbom.options.colour", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testenv.Example(t, "hello")
			cfg := filepath.Join(dir, "mmbuild.yaml")
			data, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Options are the named generator's: checked against its schema
			// before anything runs.
			data = []byte(strings.Replace(string(data), "  formats: [spdx, cyclonedx]\n", "  generator: syft\n  formats: [spdx, cyclonedx]\n  options: "+tc.options+"\n", 1))
			if err := os.WriteFile(cfg, data, 0o644); err != nil {
				t.Fatal(err)
			}
			engineMustRun(t, in, dir, "plugins", "lock")
			r := in.Run(dir, "run")
			if r.Code == 0 {
				t.Fatalf("the run passed:\n%s", r.Stderr)
			}
			line := errorLine(t, r)
			if !strings.Contains(line, tc.want) || !strings.Contains(line, "sbom") {
				t.Fatalf("error line %q, want %q", line, tc.want)
			}
			if exists(filepath.Join(dir, "out", "published")) || exists(filepath.Join(dir, "out", "provenance.json")) {
				t.Fatal("something was published or written after the SBOM failed")
			}
			if built := exists(filepath.Join(dir, "dist", "hello.tar.gz")); built != tc.built {
				t.Fatalf("built %v, want %v (an option error stops the run before the build)", built, tc.built)
			}
		})
	}
}
