package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validate refuses what run would, with the config's position, without
// looking at any plugin: a config that attests nothing, and an artifact
// named as the evidence published beside it.
func TestValidateRefusesWhatRunRefuses(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"nothing to attest", "handler: {id: make}\n", ":1:1: artifacts.files is empty"},
		{"artifact named provenance.json", "handler: {id: make}\nartifacts:\n  files: [dist/app, dist/provenance.json]\n",
			":3:21: artifacts.files[1]: an artifact named provenance.json would be published where the attestation's provenance.json goes"},
		{"artifact named as an SBOM's bundle", "handler: {id: make}\nartifacts:\n  files: [sbom.cdx.sigstore.json]\n",
			":3:11: artifacts.files[0]: an artifact named sbom.cdx.sigstore.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mmbuild.yaml")
			if err := os.WriteFile(path, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := execute(context.Background(), []string{"validate", "-f", path, "--no-plugins"}, &stdout, &stderr)
			if code != exitError || !strings.Contains(stderr.String(), path+tt.want) {
				t.Fatalf("exit %d\n%s", code, stderr.String())
			}
		})
	}
}
