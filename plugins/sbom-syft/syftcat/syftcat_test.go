package syftcat

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/plugins/sbom-syft/internal/archivetest"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	removeFixtures()
	os.Exit(code)
}

// catalog is what one Catalog call reported.
type catalog struct {
	res    *sbom.CatalogResult
	files  []sbom.File
	pkgs   []sbom.Package
	chunks int
}

func (c *catalog) file(p string) *sbom.File {
	for i := range c.files {
		if c.files[i].Path == p {
			return &c.files[i]
		}
	}
	return nil
}

func (c *catalog) pkg(name string) *sbom.Package {
	for i := range c.pkgs {
		if c.pkgs[i].Name == name {
			return &c.pkgs[i]
		}
	}
	return nil
}

func (c *catalog) paths() []string {
	var out []string
	for _, f := range c.files {
		out = append(out, f.Path)
	}
	slices.Sort(out)
	return out
}

func run(ctx context.Context, cat sbom.Cataloger, req *sbom.CatalogRequest) (*catalog, error) {
	c := &catalog{}
	res, err := cat.Catalog(ctx, req, func(ch sbom.Chunk) error {
		c.chunks++
		c.files = append(c.files, ch.Files...)
		c.pkgs = append(c.pkgs, ch.Packages...)
		return nil
	})
	c.res = res
	return c, err
}

// overGRPC is the cataloger served in-process over real gRPC.
func overGRPC(t *testing.T) sbom.Cataloger {
	conn := sdktest.Serve(t, plugin.WithName("sbom-syft"), plugin.WithCataloger("syft", New()))
	return conn.Cataloger()
}

// catalogers are the two ways the error and cancellation tests run: the
// Cataloger itself, and through the plugin protocol.
func catalogers(t *testing.T) map[string]sbom.Cataloger {
	return map[string]sbom.Cataloger{"direct": New(), "grpc": overGRPC(t)}
}

// viaProtocol is how the content tests run: through the plugin protocol
// only, which serves the same Cataloger and is how the core reaches it.
// Each of their catalogs costs seconds under -race (syft's every cataloger
// runs), and running them twice doubled the module's share of make test;
// the direct path stays covered by the error and cancellation tests.
func viaProtocol(t *testing.T) map[string]sbom.Cataloger {
	return map[string]sbom.Cataloger{"grpc": overGRPC(t)}
}

// cleanTmp points TMPDIR at an empty folder and checks, at the end of the
// test, that nothing was left in it (unpacked archives, syft's own
// temporary files). A cancelled catalog removes its folder when syft, left
// running, returns: the check waits for that, up to a minute.
func cleanTmp(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	t.Cleanup(func() {
		var left []os.DirEntry
		for start := time.Now(); time.Since(start) < time.Minute; time.Sleep(50 * time.Millisecond) {
			if left, _ = os.ReadDir(dir); len(left) == 0 {
				return
			}
		}
		for _, e := range left {
			t.Errorf("left in the temporary directory: %s", e.Name())
		}
	})
}

// A test binary carries no module build info: there SyftVersion says
// "unknown" (the binary test checks the real one).
func TestSyftVersion(t *testing.T) {
	if bi, ok := debug.ReadBuildInfo(); !ok || len(bi.Deps) == 0 {
		if v := SyftVersion(); v != "unknown" {
			t.Errorf("SyftVersion() without build info = %q", v)
		}
		t.Skip("no module build info in this test binary")
	}
	if v := SyftVersion(); v != "1.57.1" {
		t.Errorf("SyftVersion() = %q, want go.mod's 1.57.1", v)
	}
}

// helloFixture is a tar.gz of an application: a Go binary, an npm lock
// file, a few plain files, a folder entry and a symlink pointing out.
func helloFixture(t *testing.T, dir string, gz bool) (string, []archivetest.Entry) {
	bin, _ := helloBinary(t)
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	lock := `{"name":"web","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{` +
		`"":{"name":"web","version":"1.0.0","dependencies":{"left-pad":"^1.3.0"}},` +
		`"node_modules/left-pad":{"version":"1.3.0","resolved":"https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz","integrity":"sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQEfihMBWm26yD8XwiEd8iq4zp+h3R0ZqK6G1/TJFQTnP+TQ==","license":"WTFPL"}}}`
	entries := []archivetest.Entry{
		{Name: "./", Dir: true},
		{Name: "./bin/", Dir: true},
		{Name: "./bin/hello", Body: body, Mode: 0o755},
		{Name: "./bin/escape", Link: "/etc/passwd"},
		{Name: "./share/doc/README", Body: []byte("hello, world\n")},
		{Name: "./etc/empty", Body: nil},
		{Name: "./web/package-lock.json", Body: []byte(lock)},
	}
	name := "hello.tar"
	if gz {
		name += ".gz"
	}
	path := filepath.Join(dir, name)
	archivetest.WriteTar(t, path, gz, entries)
	return path, entries
}

// checkHello checks the catalog of helloFixture.
func checkHello(t *testing.T, c *catalog, path string, entries []archivetest.Entry) {
	t.Helper()
	_, textVersion := helloBinary(t)
	if c.res.SHA256 != archivetest.FileSHA(t, path) {
		t.Errorf("SHA256 %s, want the artifact's %s", c.res.SHA256, archivetest.FileSHA(t, path))
	}
	if c.res.Tool != "syft "+SyftVersion() {
		t.Errorf("Tool %q", c.res.Tool)
	}
	want := []string{"bin/hello", "etc/empty", "share/doc/README", "web/package-lock.json"}
	if got := c.paths(); !slices.Equal(got, want) {
		t.Errorf("files %q, want %q (no folders, no symlinks)", got, want)
	}
	for _, e := range entries {
		p := strings.TrimPrefix(e.Name, "./")
		if f := c.file(p); f != nil && (f.Size != int64(len(e.Body)) || f.SHA256 != archivetest.SHA(e.Body) || f.SHA1 != archivetest.SHA1(e.Body)) {
			t.Errorf("%s: size %d sha256 %s sha1 %s, want %d %s %s", p, f.Size, f.SHA256, f.SHA1, len(e.Body), archivetest.SHA(e.Body), archivetest.SHA1(e.Body))
		}
	}
	x := c.pkg("golang.org/x/text")
	if x == nil {
		t.Fatalf("no golang.org/x/text among %+v", c.pkgs)
	}
	if x.Type != "go-module" || x.Version != textVersion || x.PURL != "pkg:golang/golang.org/x/text@"+textVersion || !slices.Equal(x.Locations, []string{"bin/hello"}) {
		t.Errorf("x/text: %+v", *x)
	}
	if std := c.pkg("stdlib"); std == nil || std.Type != "go-module" || !strings.HasPrefix(std.Version, "go1.") {
		t.Errorf("stdlib: %+v", std)
	}
	if m := c.pkg("example.com/hello"); m == nil || m.Type != "go-module" {
		t.Errorf("main module: %+v", m)
	}
	lp := c.pkg("left-pad")
	if lp == nil || lp.Type != "npm" || lp.Version != "1.3.0" || lp.PURL != "pkg:npm/left-pad@1.3.0" || !slices.Equal(lp.Locations, []string{"web/package-lock.json"}) {
		t.Errorf("left-pad: %+v", lp)
	} else if !slices.Equal(lp.Licenses, []string{"WTFPL"}) {
		t.Errorf("left-pad licenses %q, want the lock file's WTFPL", lp.Licenses)
	}
	for _, p := range c.pkgs {
		for _, l := range p.Locations {
			if strings.HasPrefix(l, "/") || strings.Contains(l, "mmbuild-sbom-syft-") || strings.Contains(l, os.TempDir()) {
				t.Errorf("%s: location %q is not a path inside the artifact", p.Name, l)
			}
		}
	}
}

func TestCatalogTarGz(t *testing.T) {
	for via, cat := range viaProtocol(t) {
		t.Run(via, func(t *testing.T) {
			cleanTmp(t)
			path, entries := helloFixture(t, t.TempDir(), true)
			c, err := run(t.Context(), cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: "dist/hello.tar.gz", Path: path, MaxEntries: 1000})
			if err != nil {
				t.Fatal(err)
			}
			checkHello(t, c, path, entries)
		})
	}
}

func TestCatalogTar(t *testing.T) {
	cleanTmp(t)
	path, entries := helloFixture(t, t.TempDir(), false)
	c, err := run(t.Context(), overGRPC(t), &sbom.CatalogRequest{CatalogerID: "syft", Name: "hello.tar", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	checkHello(t, c, path, entries)
}

func TestCatalogZip(t *testing.T) {
	for via, cat := range viaProtocol(t) {
		t.Run(via, func(t *testing.T) {
			cleanTmp(t)
			bin, textVersion := helloBinary(t)
			body, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			entries := []archivetest.Entry{
				{Name: "app/", Dir: true},
				{Name: "app/hello", Body: body, Mode: 0o755},
				{Name: "app/notes.txt", Body: []byte("zip member\n")},
				{Name: "app/link", Link: "../../etc/passwd"},
			}
			path := filepath.Join(t.TempDir(), "hello.zip")
			archivetest.WriteZip(t, path, entries)
			c, err := run(t.Context(), cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: "hello.zip", Path: path})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.paths(); !slices.Equal(got, []string{"app/hello", "app/notes.txt"}) {
				t.Errorf("files %q", got)
			}
			if f := c.file("app/notes.txt"); f == nil || f.Size != 11 || f.SHA256 != archivetest.SHA([]byte("zip member\n")) || f.SHA1 != archivetest.SHA1([]byte("zip member\n")) {
				t.Errorf("notes.txt: %+v", f)
			}
			if f := c.file("app/hello"); f == nil || f.Size != int64(len(body)) || f.SHA256 != archivetest.SHA(body) {
				t.Errorf("hello: %+v", f)
			}
			if x := c.pkg("golang.org/x/text"); x == nil || x.Version != textVersion || !slices.Equal(x.Locations, []string{"app/hello"}) {
				t.Errorf("x/text: %+v", x)
			}
			if c.res.SHA256 != archivetest.FileSHA(t, path) {
				t.Errorf("SHA256 %s", c.res.SHA256)
			}
		})
	}
}

// A Go binary on its own: no files, its modules located at the artifact's
// name.
func TestCatalogGoBinary(t *testing.T) {
	for via, cat := range viaProtocol(t) {
		t.Run(via, func(t *testing.T) {
			cleanTmp(t)
			bin, textVersion := helloBinary(t)
			c, err := run(t.Context(), cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: "bin/hello", Path: bin})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.files) != 0 {
				t.Errorf("files %q in a binary", c.paths())
			}
			x := c.pkg("golang.org/x/text")
			if x == nil || x.Version != textVersion || x.PURL != "pkg:golang/golang.org/x/text@"+textVersion || !slices.Equal(x.Locations, []string{"bin/hello"}) {
				t.Errorf("x/text: %+v (all: %+v)", x, c.pkgs)
			}
			if c.pkg("stdlib") == nil {
				t.Errorf("no stdlib in %+v", c.pkgs)
			}
			if c.res.SHA256 != archivetest.FileSHA(t, bin) {
				t.Errorf("SHA256 %s", c.res.SHA256)
			}
		})
	}
}

// A file that is no archive, a plain .gz included: fine, no files.
func TestCatalogPlainFiles(t *testing.T) {
	cat := overGRPC(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("just text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "notes.txt.gz")
	archivetest.WriteGzip(t, gz, []byte("just text, compressed\n"))
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{text, gz, empty} {
		c, err := run(t.Context(), cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: filepath.Base(p), Path: p})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if len(c.files)+len(c.pkgs) != 0 || c.res.SHA256 != archivetest.FileSHA(t, p) {
			t.Errorf("%s: %+v %+v %+v", p, c.files, c.pkgs, c.res)
		}
	}
}

func TestCatalogMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nothing.tar.gz")
	for via, cat := range catalogers(t) {
		_, err := run(t.Context(), cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: "nothing.tar.gz", Path: missing})
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) || !strings.HasPrefix(err.Error(), "sbom:syft: nothing.tar.gz: ") {
			t.Errorf("%s: missing file: %v", via, err)
		}
	}
	_, err := run(t.Context(), New(), &sbom.CatalogRequest{CatalogerID: "syft", Path: "relative/x.tar"})
	if err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("relative path: %v", err)
	}
	_, err = run(t.Context(), New(), &sbom.CatalogRequest{CatalogerID: "syft", Path: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a folder: %v", err)
	}
}

// Corrupt archives fail with one line, and leave nothing behind.
func TestCatalogCorrupt(t *testing.T) {
	dir := t.TempDir()
	var files []archivetest.Entry
	for i := range 40 {
		files = append(files, archivetest.Entry{Name: "data/f" + string(rune('a'+i%26)) + strings.Repeat("x", i), Body: []byte(strings.Repeat("some data ", 500+i))})
	}
	good := filepath.Join(dir, "good.tar.gz")
	archivetest.WriteTar(t, good, true, files)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.tar.gz")
	if err := os.WriteFile(truncated, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(b)
	for i := len(b) / 3; i < len(b)/3+64; i++ {
		flipped[i] ^= 0x5a
	}
	garbled := filepath.Join(dir, "garbled.tar.gz")
	if err := os.WriteFile(garbled, flipped, 0o644); err != nil {
		t.Fatal(err)
	}
	badHeader := filepath.Join(dir, "header.tar.gz")
	if err := os.WriteFile(badHeader, append([]byte{0x1f, 0x8b, 0x09}, b[3:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(dir, "x.zip")
	archivetest.WriteZip(t, zipPath, files)
	zb, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	badZip := filepath.Join(dir, "bad.zip")
	if err := os.WriteFile(badZip, zb[:len(zb)-30], 0o644); err != nil {
		t.Fatal(err)
	}
	for via, cat := range catalogers(t) {
		t.Run(via, func(t *testing.T) {
			cleanTmp(t)
			for _, p := range []string{truncated, garbled, badHeader, badZip} {
				_, err := run(t.Context(), cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: filepath.Base(p), Path: p})
				if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "sbom:syft: "+filepath.Base(p)+": ") {
					t.Errorf("%s: %v", filepath.Base(p), err)
				}
				t.Logf("%s: %v", filepath.Base(p), err)
			}
		})
	}
}

func TestCatalogMaxEntries(t *testing.T) {
	var many []archivetest.Entry
	for i := range 50 {
		many = append(many, archivetest.Entry{Name: "f/" + strings.Repeat("n", i+1), Body: []byte{byte(i)}})
	}
	path := filepath.Join(t.TempDir(), "many.tar.gz")
	archivetest.WriteTar(t, path, true, many)
	bin, _ := helloBinary(t)
	for via, cat := range viaProtocol(t) {
		t.Run(via, func(t *testing.T) {
			cleanTmp(t)
			c, err := run(t.Context(), cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: "many.tar.gz", Path: path, MaxEntries: 10})
			if err == nil || !strings.Contains(err.Error(), sbom.ErrTooMany.Error()) {
				t.Fatalf("50 files, at most 10: %v", err)
			}
			if via == "direct" && !errors.Is(err, sbom.ErrTooMany) {
				t.Errorf("not ErrTooMany: %v", err)
			}
			if len(c.files) > 10 {
				t.Errorf("%d files reported beyond the bound", len(c.files))
			}
			// Exactly at the bound: fine.
			if _, err := run(t.Context(), cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: "many.tar.gz", Path: path, MaxEntries: 50}); err != nil {
				t.Errorf("50 files, at most 50: %v", err)
			}
			// Packages count too.
			_, err = run(t.Context(), cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: "hello", Path: bin, MaxEntries: 1})
			if err == nil || !strings.Contains(err.Error(), sbom.ErrTooMany.Error()) {
				t.Errorf("a binary of 3 modules, at most 1 entry: %v", err)
			}
		})
	}
}

func TestCatalogMaxBytes(t *testing.T) {
	cleanTmp(t)
	path := filepath.Join(t.TempDir(), "big.tar.gz")
	archivetest.WriteTar(t, path, true, []archivetest.Entry{{Name: "a", Body: make([]byte, 600)}, {Name: "b", Body: make([]byte, 600)}})
	for _, opts := range []map[string]string{{"max-bytes": "1000"}, {"max-bytes": "1000", "catalogers": "none"}} {
		_, err := run(t.Context(), New(), &sbom.CatalogRequest{CatalogerID: "syft", Name: "big.tar.gz", Path: path, Options: opts})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "max-bytes") {
			t.Errorf("%v: 1200 bytes, at most 1000: %v", opts, err)
		}
	}
	if _, err := run(t.Context(), New(), &sbom.CatalogRequest{CatalogerID: "syft", Name: "big.tar.gz", Path: path, Options: map[string]string{"max-bytes": "1200"}}); err != nil {
		t.Errorf("1200 bytes, at most 1200: %v", err)
	}
}

// Members that climb out are refused, absolute ones are taken as relative,
// and nothing is ever written outside the unpack folder.
func TestCatalogUnsafeMembers(t *testing.T) {
	for via, cat := range viaProtocol(t) {
		t.Run(via, func(t *testing.T) {
			cleanTmp(t)
			tmp := os.Getenv("TMPDIR")
			dir := t.TempDir()
			for _, bad := range []string{"../escaped", "a/../../escaped", "./../escaped"} {
				for _, kind := range []string{"tar.gz", "zip"} {
					path := filepath.Join(dir, "bad."+kind)
					entries := []archivetest.Entry{{Name: "ok", Body: []byte("ok")}, {Name: bad, Body: []byte("out")}}
					if kind == "zip" {
						archivetest.WriteZip(t, path, entries)
					} else {
						archivetest.WriteTar(t, path, true, entries)
					}
					_, err := run(t.Context(), cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: "bad." + kind, Path: path})
					if err == nil || !strings.Contains(err.Error(), "leads outside the archive") {
						t.Errorf("%s member %q: %v", kind, bad, err)
					}
					for _, d := range []string{tmp, filepath.Dir(tmp), dir} {
						if _, err := os.Lstat(filepath.Join(d, "escaped")); err == nil {
							t.Fatalf("%s member %q was written to %s", kind, bad, d)
						}
					}
				}
			}
			// A symlinked folder then a file through it: the file lands
			// inside (the link is not made), never at the link's target.
			target := t.TempDir()
			path := filepath.Join(dir, "links.tar.gz")
			archivetest.WriteTar(t, path, true, []archivetest.Entry{
				{Name: "/abs/file", Body: []byte("abs")},
				{Name: "lib", Link: target},
				{Name: "lib/planted", Body: []byte("planted")},
			})
			c, err := run(t.Context(), cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: "links.tar.gz", Path: path})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.paths(); !slices.Equal(got, []string{"abs/file", "lib/planted"}) {
				t.Errorf("files %q", got)
			}
			if _, err := os.Lstat(filepath.Join(target, "planted")); err == nil {
				t.Error("a member was written through a symlink of the archive")
			}
		})
	}
}

func TestOptions(t *testing.T) {
	cleanTmp(t)
	path, _ := helloFixture(t, t.TempDir(), true)
	cat := overGRPC(t)
	req := func(opts map[string]string) *sbom.CatalogRequest {
		return &sbom.CatalogRequest{CatalogerID: "syft", Name: "hello.tar.gz", Path: path, Options: opts}
	}
	c, err := run(t.Context(), cat, req(map[string]string{"files": "false"}))
	if err != nil || len(c.files) != 0 || c.pkg("golang.org/x/text") == nil || c.pkg("left-pad") == nil {
		t.Errorf("files=false: %v, %d files, %+v", err, len(c.files), c.pkgs)
	}
	c, err = run(t.Context(), cat, req(map[string]string{"catalogers": "none"}))
	if err != nil || len(c.files) != 4 || len(c.pkgs) != 0 || c.res.SHA256 == "" {
		t.Errorf("catalogers=none: %v, %q, %+v", err, c.paths(), c.pkgs)
	}
	c, err = run(t.Context(), cat, req(map[string]string{"catalogers": "go-module-binary-cataloger", "files": "true"}))
	if err != nil || c.pkg("golang.org/x/text") == nil || c.pkg("left-pad") != nil || len(c.files) != 4 {
		t.Errorf("catalogers=go-module-binary-cataloger: %v, %+v", err, c.pkgs)
	}
	c, err = run(t.Context(), cat, req(map[string]string{"catalogers": "-javascript"}))
	if err != nil || c.pkg("golang.org/x/text") == nil || c.pkg("left-pad") != nil {
		t.Errorf("catalogers=-javascript: %v, %+v", err, c.pkgs)
	}
	for _, bad := range []map[string]string{
		{"file": "true"},
		{"files": "yes"},
		{"max-bytes": "-1"},
		{"max-bytes": "many"},
		{"catalogers": "go,,npm"},
		{"catalogers": "no-such-cataloger"},
	} {
		_, err := run(t.Context(), cat, req(bad))
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("options %v: %v", bad, err)
		}
		t.Logf("options %v: %v", bad, err)
	}
}

func TestConfigSchema(t *testing.T) {
	var s struct {
		Type                 string                     `json:"type"`
		AdditionalProperties bool                       `json:"additionalProperties"`
		Properties           map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(New().ConfigSchema(), &s); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range s.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if s.Type != "object" || s.AdditionalProperties || !slices.Equal(keys, []string{optionCatalogers, optionFiles, optionMaxBytes}) {
		t.Errorf("schema: %+v", s)
	}
}

// Cancelling stops a catalog part-way (here, after its first chunk of
// files) and leaves nothing behind; an already cancelled one does nothing.
func TestCatalogCancel(t *testing.T) {
	var many []archivetest.Entry
	for i := range 3000 {
		many = append(many, archivetest.Entry{Name: "f/" + strings.Repeat("n", i%50+1) + "/" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Body: []byte("x")})
	}
	path := filepath.Join(t.TempDir(), "many.tar.gz")
	archivetest.WriteTar(t, path, true, many)
	for via, cat := range catalogers(t) {
		t.Run(via, func(t *testing.T) {
			cleanTmp(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			n := 0
			_, err := cat.Catalog(ctx, &sbom.CatalogRequest{CatalogerID: "syft", Name: "many.tar.gz", Path: path}, func(ch sbom.Chunk) error {
				n += len(ch.Files)
				cancel()
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled after the first chunk: %v", err)
			}
			if n == 0 || n >= 3000 {
				t.Errorf("%d files reported before the cancel took effect", n)
			}
			_, err = run(ctx, cat, &sbom.CatalogRequest{CatalogerID: "syft", Name: "many.tar.gz", Path: path})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("already cancelled: %v", err)
			}
		})
	}
}
