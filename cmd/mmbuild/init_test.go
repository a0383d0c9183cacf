package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// init --force replaces a symlinked mmbuild.yaml with its own file, as every
// other output replaces a link: the file the link points to is not written.
func TestInitForceReplacesASymlinkedConfigNotItsTarget(t *testing.T) {
	root := t.TempDir()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("MMBUILD_PLUGIN_PATH", "")
	dir := filepath.Join(root, "app")
	plugins := filepath.Join(dir, ".mmbuild", "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho '{\"name\":\"fake\",\"version\":\"1.2.3\",\"api_version\":1,\"kinds\":[\"handler:make\"]}'\n"
	shared := filepath.Join(root, "shared.yaml")
	for path, data := range map[string]string{
		filepath.Join(plugins, "mmbuild-plugin-fake"): script,
		filepath.Join(dir, "Makefile"):                "build:\n\techo built\n",
		shared:                                        "# another project's config\n",
	} {
		if err := os.WriteFile(path, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "mmbuild.yaml")
	if err := os.Symlink(shared, link); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := execute(context.Background(), []string{"init", "--force", "-C", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("init --force: exit %d\n%s", code, stderr.String())
	}
	if b, _ := os.ReadFile(shared); string(b) != "# another project's config\n" {
		t.Fatalf("init --force wrote through the link into %s:\n%s", shared, b)
	}
	fi, err := os.Lstat(link)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("mmbuild.yaml is not a regular file after init --force: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(link); !strings.Contains(string(b), "id: make") {
		t.Fatalf("mmbuild.yaml:\n%s", b)
	}
}
