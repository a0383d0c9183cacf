package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
	"github.com/mmbuild/mmbuild/plugins/handler-make/makehandler"
	"github.com/mmbuild/mmbuild/plugins/storage-file/filestore"
	"github.com/mmbuild/mmbuild/sdk/host"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// attachedHost serves the real file store and make handler in-process over
// real gRPC: the core's stages run the whole protocol without binaries.
func attachedHost(t *testing.T) *pluginhost.Host {
	t.Helper()
	return hostWith(t, filestore.New())
}

// hostWith serves st as the file store, and the real make handler.
func hostWith(t *testing.T, st storage.Storage) *pluginhost.Host {
	t.Helper()
	file := sdktest.Serve(t, plugin.WithName("file"), plugin.WithVersion("test"), plugin.WithStorage("file", st))
	mk := sdktest.Serve(t, plugin.WithName("make"), plugin.WithVersion("test"), plugin.WithHandler("make", makehandler.New()))
	h := pluginhost.NewAttached(map[string]*host.Conn{"file": file, "make": mk})
	t.Cleanup(h.Close)
	return h
}

// project is a committed git work tree with a config and a Makefile, a
// material outside it, and a file:// destination.
type project struct {
	dir      string // the work tree
	material string // path of the material file
	dest     string // the destination folder
	env      map[string]string
}

// greeting is the material's content and its sha256.
const (
	greeting       = "hello\n"
	greetingSHA256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
)

const makefile = `dist/out.txt: $(MMBUILD_MATERIALS_DIR)/greeting.txt
	mkdir -p dist
	cat $(MMBUILD_MATERIALS_DIR)/greeting.txt > dist/out.txt
	echo built >> built.log
	echo "$(SHOUT)"
`

// newProject lays out a project whose config is cfgYAML with ${MAT} (the
// material's URL) and ${DEST} (the destination URL) expanded.
func newProject(t *testing.T, cfgYAML string) *project {
	t.Helper()
	root := t.TempDir()
	p := &project{dir: filepath.Join(root, "repo"), material: filepath.Join(root, "materials", "greeting.txt"), dest: filepath.Join(root, "dest")}
	p.env = map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": root,
		"MAT": "file://" + p.material, "DEST": "file://" + p.dest + "/",
	}
	write(t, p.material, greeting)
	write(t, filepath.Join(p.dir, "mmbuild.yaml"), cfgYAML)
	write(t, filepath.Join(p.dir, "Makefile"), makefile)
	write(t, filepath.Join(p.dir, ".gitignore"), "dist/\nbuilt.log\nbuild.env\nout/\n")
	git(t, p.dir, "init", "-q")
	git(t, p.dir, "add", ".")
	git(t, p.dir, "commit", "-q", "-m", "project")
	return p
}

func (p *project) lookup(k string) (string, bool) {
	v, ok := p.env[k]
	return v, ok
}

// load reads and expands the project's config as the CLI does.
func (p *project) load(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join(p.dir, "mmbuild.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Expand(p.lookup); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// builds is how many times the builder ran.
func (p *project) builds(t *testing.T) int {
	b, err := os.ReadFile(filepath.Join(p.dir, "built.log"))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "built\n")
}

// published lists the files under the destination, relative to it.
func (p *project) published(t *testing.T) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(p.dest, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(p.dest, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// transfers records the progress reports of a run: which URLs were got
// and put.
type transfers struct {
	mu   sync.Mutex
	gets []string
	puts []string
}

func (r *transfers) Update(string, string, int64, int64) {}
func (r *transfers) Close()                              {}
func (r *transfers) Finish(op, url string, _ int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if op == "get" {
		r.gets = append(r.gets, url)
	} else {
		r.puts = append(r.puts, url)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// guardedStore is the real file store behind a credential, as a store
// behind a password is: its schema declares a writeOnly token, and a call
// for a URL under guarded is refused unless it carries that token.
type guardedStore struct {
	files   *filestore.Store
	guarded string
	token   string
}

// Capabilities are the file store's: the guard changes who may call, not
// what a call does.
func (g guardedStore) Capabilities() []string { return g.files.Capabilities() }

func (g guardedStore) ConfigSchema() json.RawMessage {
	return json.RawMessage(`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"token":{"type":"string","writeOnly":true}},"additionalProperties":false}`)
}

// check refuses a wrong or missing token, and leaves the options without
// it, as the file store takes none.
func (g guardedStore) check(rawURL string, opts *map[string]string) error {
	if strings.HasPrefix(rawURL, g.guarded) && (*opts)["token"] != g.token {
		return fmt.Errorf("%w: wrong or missing token", fs.ErrPermission)
	}
	*opts = maps.Clone(*opts)
	delete(*opts, "token")
	return nil
}

func (g guardedStore) Stat(ctx context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	r := *req
	if err := g.check(r.URL, &r.Options); err != nil {
		return nil, err
	}
	return g.files.Stat(ctx, &r)
}

func (g guardedStore) Get(ctx context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	r := *req
	if err := g.check(r.URL, &r.Options); err != nil {
		return nil, err
	}
	return g.files.Get(ctx, &r)
}

func (g guardedStore) Put(ctx context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	r := *req
	if err := g.check(r.URL, &r.Options); err != nil {
		return nil, err
	}
	return g.files.Put(ctx, &r)
}

// infoFunc answers InfoFunc as the real make handler and st, served as the
// file store, describe themselves over gRPC.
func infoFunc(t *testing.T, st storage.Storage) InfoFunc {
	t.Helper()
	ctx := context.Background()
	fileInfo, err := sdktest.Serve(t, plugin.WithName("file"), plugin.WithStorage("file", st)).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	makeInfo, err := sdktest.Serve(t, plugin.WithName("make"), plugin.WithHandler("make", makehandler.New())).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return func(kind string) (*plugin.Info, error) {
		if strings.HasPrefix(kind, "handler:") {
			return makeInfo, nil
		}
		return fileInfo, nil
	}
}
