package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validate refuses what run would: here a config that attests nothing, with
// the config's position, without looking at any plugin.
func TestValidateRefusesWhatRunRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mmbuild.yaml")
	if err := os.WriteFile(path, []byte("handler: {id: make}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), []string{"validate", "-f", path, "--no-plugins"}, &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), path+":1:1: artifacts.files is empty") {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
}
