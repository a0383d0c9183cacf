package run

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/workspace"
)

// TestSigningKeyOfKMSIsNoPath: a KMS key reference is not a file: the
// box hides the config's key file, never a path made of a KMS URI.
func TestSigningKeyOfKMSIsNoPath(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ key, want string }{
		{"mmbuild.key", filepath.Join(dir, "mmbuild.key")},
		{"/etc/keys/release.key", "/etc/keys/release.key"},
		{"awskms://127.0.0.1:4566/alias/release", ""},
		{"gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", ""},
		{"hashivault://release", ""},
		{"azurekms://vault.example.com/release", ""},
		{"mykms://release", ""},
	} {
		cfg := &config.Config{Path: filepath.Join(dir, "mmbuild.yaml"), Signing: &config.Signing{Key: tt.key}}
		if got := signingKeyPath(cfg); got != tt.want {
			t.Errorf("%s: path %q, want %q", tt.key, got, tt.want)
		}
		spec, err := boxSpec(cfg, &plan{}, &workspace.Workspace{})
		if err != nil {
			t.Fatal(err)
		}
		hidden := slices.ContainsFunc(spec.Hide, func(h string) bool { return filepath.Base(h) == filepath.Base(tt.key) })
		if hidden != (tt.want != "") {
			t.Errorf("%s: hidden %t in %q", tt.key, hidden, spec.Hide)
		}
	}
}
