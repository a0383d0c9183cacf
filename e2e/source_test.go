package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// source: at a commit builds exactly that commit's tree, natively cloned,
// over file:// and over smart HTTP; the commit is recorded.
func TestGitSourceAtCommit(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	repo := testservers.NewGitRepoAt(t, root, "app.git", map[string]string{
		"Makefile":    "all:\n\t@mkdir -p dist\n\tcp version.txt dist/version.txt\n",
		"version.txt": "v1\n",
	})
	old := repo.Head()
	repo.Commit(map[string]string{"version.txt": "v2\n"})
	srv := testservers.ServeGitHTTP(t, root)
	for name, url := range map[string]string{
		"file":       "file://" + filepath.Join(root, "app.git"),
		"smart-http": srv.URL + "/app.git",
	} {
		t.Run(name, func(t *testing.T) {
			in := testenv.NewInstall(t)
			dir := engineProject(t, map[string]string{
				"mmbuild.yaml": "handler: {id: make, params: [all]}\n" +
					"source: {repo: '" + url + "', commit: " + old + "}\n" +
					"artifacts: {files: [dist/version.txt]}\n",
			})
			engineMustRun(t, in, dir, "plugins", "lock")
			rep, r := engineRunJSON(t, in, dir)
			if len(rep.Artifacts) != 1 || rep.Artifacts[0].SHA256 != sha256Hex(t, []byte("v1\n")) {
				t.Fatalf("built %+v, want the tree at %s (v1)\n%s", rep.Artifacts, old, r.Stderr)
			}
			// With provenance: the local copy lands beside the config, not
			// in the clone (which lives in the run's workspace).
			cfg := filepath.Join(dir, "mmbuild.yaml")
			if err := os.WriteFile(cfg, append(mustRead(t, cfg), []byte("provenance: out/\n")...), 0o644); err != nil {
				t.Fatal(err)
			}
			engineMustRun(t, in, dir, "run")
			raw := string(mustRead(t, filepath.Join(dir, "out/provenance.json")))
			if !strings.Contains(raw, `"uri": "git+`+url+`@`+old+`"`) || !strings.Contains(raw, `"sha1": "`+old+`"`) {
				t.Errorf("configSource does not record %s@%s:\n%.600s", url, old, raw)
			}
			if exists(filepath.Join(dir, "dist")) {
				t.Error("the build ran in the project folder instead of the clone")
			}
		})
	}
}

func TestPluginsInstall(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir := t.TempDir()
	src := filepath.Join(in.BinDir, "mmbuild-plugin-file")
	sum := "sha256:" + sha256Hex(t, mustRead(t, src))
	userDir := filepath.Join(in.Home, "data", "mmbuild", "plugins")

	// A wrong checksum installs nothing.
	r := in.Run(dir, "plugins", "install", src, "--name", "copy", "--checksum", "sha256:"+strings.Repeat("0", 64))
	if r.Code == 0 || !strings.Contains(errorLine(t, r), "checksum mismatch") {
		t.Fatalf("wrong checksum: exit %d %s", r.Code, r.Stderr)
	}
	if exists(filepath.Join(userDir, "mmbuild-plugin-copy")) {
		t.Fatal("installed despite a checksum mismatch")
	}
	// From a path, then from a file:// URL through the file plugin.
	engineMustRun(t, in, dir, "plugins", "install", src, "--name", "copy", "--checksum", sum)
	// copy serves what file serves: only one of them can be locked.
	engineMustRun(t, in, in.BinDir, "plugins", "lock", "file")
	r = engineMustRun(t, in, in.BinDir, "plugins", "install", "file://"+src, "--name", "viaurl", "--checksum", sum)
	for _, n := range []string{"copy", "viaurl"} {
		p := filepath.Join(userDir, "mmbuild-plugin-"+n)
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o755 || "sha256:"+sha256Hex(t, mustRead(t, p)) != sum {
			t.Fatalf("%s not installed right: %v", p, err)
		}
	}
	// The audit sees them (unpinned until locked).
	l := in.Run(dir, "plugins", "list")
	if !strings.Contains(l.Stdout, "mmbuild-plugin-copy") || !strings.Contains(l.Stdout, "unpinned") {
		t.Errorf("plugins list:\n%s", l.Stdout)
	}
}

// plugins install from a URL whose server never stops sending is cut off at
// --max-size, with one error line, and installs nothing.
func TestPluginsInstallFromAnEndlessURLStopsAtMaxSize(t *testing.T) {
	in := testenv.NewInstall(t)
	srv := testservers.NewHTTPServer(t, t.TempDir())
	srv.Handle("/mmbuild-plugin-endless", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}))
	engineMustFail(t, in, t.TempDir(), []string{"plugins", "install", "--allow-unpinned", "--max-size", "1MiB", srv.URL + "/mmbuild-plugin-endless"},
		"larger than its size limit of 1048576 bytes")
	userDir := filepath.Join(in.Home, "data", "mmbuild", "plugins")
	if entries, _ := os.ReadDir(userDir); len(entries) != 0 {
		t.Errorf("left in the plugin folder: %v", entries)
	}
}
