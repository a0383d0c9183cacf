package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/internal/testenv"
)

func TestKeysGenerate(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := t.TempDir()

	r := in.MustRun(dir, "keys", "generate")
	priv, pub := filepath.Join(dir, "mmbuild.key"), filepath.Join(dir, "mmbuild.pub")
	for path, mode := range map[string]os.FileMode{priv: 0o600, pub: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	pubPEM, _ := os.ReadFile(pub)
	v, err := signing.LoadVerifier(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if v.Algorithm() != signing.ECDSAP256 || !strings.Contains(r.Stdout, "key id "+v.KeyID()) {
		t.Fatalf("%s key; output:\n%s", v.Algorithm(), r.Stdout)
	}
	privPEM, _ := os.ReadFile(priv)
	if _, err := signing.LoadSigner(privPEM); err != nil {
		t.Fatal(err)
	}

	// Never overwrites without --force, and leaves the files as they were.
	r = in.Run(dir, "keys", "generate")
	if r.Code != 1 || !strings.Contains(r.Stderr, "already exists") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Fatalf("overwrite: exit %d\n%s", r.Code, r.Stderr)
	}
	if again, _ := os.ReadFile(priv); !bytes.Equal(again, privPEM) {
		t.Fatal("private key replaced")
	}
	r = in.MustRun(dir, "keys", "generate", "--force", "--type", "ed25519", "--json")
	var kp signing.KeyPair
	if err := json.Unmarshal([]byte(r.Stdout), &kp); err != nil || kp.Algorithm != signing.Ed25519 || len(kp.KeyID) != 64 {
		t.Fatalf("--json: %v\n%s", err, r.Stdout)
	}

	r = in.MustRun(dir, "keys", "generate", "--out", filepath.Join("ci", "..", "release"), "--type", "rsa")
	if _, err := os.Stat(filepath.Join(dir, "release.key")); err != nil || !strings.Contains(r.Stdout, "rsa key id") {
		t.Fatalf("--out release --type rsa: %v\n%s", err, r.Stdout)
	}

	if r := in.Run(dir, "keys", "generate", "--type", "dsa", "--out", "x"); r.Code != 2 || !strings.Contains(r.Stderr, "unknown key type") {
		t.Fatalf("--type dsa: exit %d\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.key")); err == nil {
		t.Fatal("wrote a key for a refused type")
	}
}
