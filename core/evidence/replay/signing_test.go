package replay

import (
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
)

// A replay never needs the original build's key: signing: goes, and so
// does a secret only signing: used; a secret the build uses stays.
func TestWithoutSigning(t *testing.T) {
	tests := []struct {
		name, yaml string
		secrets    int
	}{
		{"key file", "handler: {id: make}\nartifacts: {files: [a]}\nsigning: {key: mmbuild.key}\n", 0},
		{"key secret used only to sign", "handler: {id: make}\nartifacts: {files: [a]}\nsecrets: [{name: KEY}]\nsigning: {keySecret: KEY}\n", 0},
		{"key secret the build uses too", "handler: {id: make}\nartifacts: {files: [a]}\nsecrets: [{name: KEY}, {name: OTHER}]\n" +
			"env: [{var: K, valueFrom: {secret: KEY}}]\nsigning: {keySecret: KEY}\n", 2},
		{"keyless", "handler: {id: make}\nartifacts: {files: [a]}\nsigning: {keyless: true}\n", 0},
		{"no signing", "handler: {id: make}\nartifacts: {files: [a]}\nsecrets: [{name: OTHER}]\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("mmbuild.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			withoutSigning(cfg)
			if cfg.Signing != nil || len(cfg.Secrets) != tt.secrets {
				t.Fatalf("signing %v, %d secrets, want none and %d", cfg.Signing, len(cfg.Secrets), tt.secrets)
			}
		})
	}
}
