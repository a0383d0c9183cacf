package signing_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// LoadVerifierFiles reads every key relative to its folder (or absolute),
// and names the key as given when one is missing, not a key, or larger
// than a key file may be.
func TestLoadVerifierFiles(t *testing.T) {
	dir := t.TempDir()
	_, pub, err := signing.Generate(signing.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"keys/a.pub": pub, "b.pub": pub, "not.pub": []byte("not a key"),
		"huge.pub": make([]byte, signing.MaxKeyFile+1),
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := signing.LoadVerifierFiles(dir, "keys/a.pub", filepath.Join(dir, "b.pub"))
	if err != nil || len(vs) != 2 {
		t.Fatalf("LoadVerifierFiles = %d keys, %v", len(vs), err)
	}
	for _, bad := range []string{"missing.pub", "not.pub", "huge.pub"} {
		_, err := signing.LoadVerifierFiles(dir, "keys/a.pub", bad)
		if err == nil || !strings.HasPrefix(err.Error(), "key "+bad+": ") {
			t.Errorf("LoadVerifierFiles(%s) = %v", bad, err)
		}
	}
}
