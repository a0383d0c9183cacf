package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
)

// plugins lock updates the lock of the repository the project is in, and
// says which file it wrote.
func TestPluginsLockFindsTheRepositoryLock(t *testing.T) {
	repo := t.TempDir()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("MMBUILD_PLUGIN_PATH", "")
	app := filepath.Join(repo, "app")
	plugins := filepath.Join(app, ".mmbuild", "plugins")
	for _, d := range []string{filepath.Join(repo, ".git"), plugins} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := "#!/bin/sh\necho '{\"name\":\"fake\",\"version\":\"1.2.3\",\"api_version\":1,\"kinds\":[\"storage:fake\"]}'\n"
	if err := os.WriteFile(filepath.Join(plugins, "mmbuild-plugin-fake"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(repo, lockfile.FileName)
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if code := execute(context.Background(), []string{"plugins", "lock", "-C", app}, &stdout, &stderr); code != 0 {
		t.Fatalf("plugins lock: exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "fake") || !strings.HasSuffix(stdout.String(), "wrote "+lock+"\n") {
		t.Fatalf("plugins lock printed:\n%s", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(app, lockfile.FileName)); err == nil {
		t.Fatal("a second lock file was written beside the project")
	}
	f, err := lockfile.Load(lock)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := f.Pin("fake"); !ok || e.Version != "1.2.3" {
		t.Fatalf("%s does not pin fake 1.2.3: %+v", lock, e)
	}
}
