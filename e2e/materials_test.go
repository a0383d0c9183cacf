package e2e

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// treeDigest is the documented digest of a folder: the sha256 of the lines
// "<sha256 hex>  <slash path>\n" of its regular files, sorted by path.
func treeDigest(t *testing.T, root string) string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "%s  %s\n", sha256Hex(t, mustRead(t, filepath.Join(root, f))), f)
	}
	return sha256Hex(t, []byte(b.String()))
}

func sha512Hex(b []byte) string { s := sha512.Sum512(b); return hex.EncodeToString(s[:]) }
func sha1Hex(b []byte) string   { s := sha1.Sum(b); return hex.EncodeToString(s[:]) }

const materialsMakefile = `all:
	@mkdir -p dist
	@echo ran >> builder-ran
	cat $(MMBUILD_MATERIALS_DIR)/a.txt $(MMBUILD_MATERIALS_DIR)/b.txt > dist/ab.out
	test -d $(MMBUILD_MATERIALS_DIR)/tree
	cd $(MMBUILD_MATERIALS_DIR) && find . | LC_ALL=C sort > $(CURDIR)/dist/listing.out
`

// materialsProject has three materials: a file with a sha512 only, a file
// with a sha1 only, and a folder with no digest (treeDigestYAML, when not
// empty, is its digest line).
func materialsProject(t *testing.T, in *testenv.Install, sha512 string, treeDigestYAML string) string {
	t.Helper()
	dir := engineProject(t, map[string]string{
		"Makefile":                    materialsMakefile,
		"input/a.txt":                 "alpha\n",
		"input/b.txt":                 "beta\n",
		"input/tree/x.txt":            "x\n",
		"input/tree/sub/y.txt":        "y\n",
		"input/tree/sub/deeper/z.bin": "\x00z\xff",
		"mmbuild.yaml": `handler:
  id: make
  params: ["all"]
materials:
  - uri: file://${PWD}/input/a.txt
    digest: {sha512: ` + sha512 + `}
  - uri: file://${PWD}/input/b.txt
    digest:
      sha1: ` + sha1Hex([]byte("beta\n")) + `
  - uri: file://${PWD}/input/tree/
` + treeDigestYAML + `artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*.out"]
provenance: out/
`,
	})
	engineMustRun(t, in, dir, "plugins", "lock")
	return dir
}

func TestMaterialsDigestsAndFolders(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	goodSHA512 := sha512Hex([]byte("alpha\n"))
	dir := materialsProject(t, in, goodSHA512, "")
	r := engineMustRun(t, in, dir, "run")

	if got := string(mustRead(t, filepath.Join(dir, "dist/ab.out"))); got != "alpha\nbeta\n" {
		t.Errorf("dist/ab.out = %q", got)
	}
	wantListing := ".\n./a.txt\n./b.txt\n./tree\n./tree/sub\n./tree/sub/deeper\n./tree/sub/deeper/z.bin\n./tree/sub/y.txt\n./tree/x.txt\n"
	if got := string(mustRead(t, filepath.Join(dir, "dist/listing.out"))); got != wantListing {
		t.Errorf("materials folder:\n%s\nwant:\n%s", got, wantListing)
	}
	treeURI := "file://" + filepath.Join(dir, "input/tree") + "/"
	warned := false
	for _, l := range strings.Split(r.Stderr, "\n") {
		if strings.Contains(l, "WARN") && strings.Contains(l, "no digest") && strings.Contains(l, treeURI) {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning about the material without digest:\n%s", r.Stderr)
	}

	st := engineReadStatement(t, filepath.Join(dir, "out/provenance.json"))
	tree := treeDigest(t, filepath.Join(dir, "input/tree"))
	for uri, want := range map[string]map[string]string{
		"file://" + filepath.Join(dir, "input/a.txt"): {"sha256": sha256Hex(t, []byte("alpha\n")), "sha512": goodSHA512},
		"file://" + filepath.Join(dir, "input/b.txt"): {"sha256": sha256Hex(t, []byte("beta\n")), "sha1": sha1Hex([]byte("beta\n"))},
		treeURI: {"sha256": tree},
	} {
		got, ok := st.material(uri)
		if !ok {
			t.Errorf("material %s not in the attestation: %+v", uri, st.Predicate.Materials)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("material %s digest %v, want %v", uri, got, want)
		}
	}

	// The recorded folder digest verifies: given in the config, the run
	// passes with --require-digests.
	dir2 := materialsProject(t, in, goodSHA512, "    digest: {sha256: "+tree+"}\n")
	r2 := engineMustRun(t, in, dir2, "run", "--require-digests")
	if strings.Contains(r2.Stderr, "no digest") {
		t.Errorf("warning about a digest that is there:\n%s", r2.Stderr)
	}
	if !exists(filepath.Join(dir2, "builder-ran")) {
		t.Error("the builder did not run")
	}
}

func TestMaterialsRefused(t *testing.T) {
	in := testenv.NewInstall(t)
	good := sha512Hex([]byte("alpha\n"))
	wrong := strings.Repeat("0f", 64)
	tests := []struct {
		name   string
		sha512 string
		args   []string
		want   []string
	}{
		{"wrong sha512", wrong, []string{"run"}, []string{"mmbuild.yaml:", "a.txt", "sha512 digest mismatch", wrong, good}},
		{"no digest with --require-digests", good, []string{"run", "--require-digests"}, []string{"mmbuild.yaml:", "materials[2]", "input/tree", "no digest", "--require-digests"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := materialsProject(t, in, tt.sha512, "")
			engineMustFail(t, in, dir, tt.args, tt.want...)
			if exists(filepath.Join(dir, "builder-ran")) {
				t.Error("the builder ran")
			}
			assertNothingPublished(t, dir)
		})
	}
	t.Run("wrong folder digest", func(t *testing.T) {
		wrongTree := strings.Repeat("ab", 32)
		dir := materialsProject(t, in, good, "    digest: {sha256: "+wrongTree+"}\n")
		engineMustFail(t, in, dir, []string{"run"}, "input/tree", "sha256 digest mismatch", wrongTree)
		if exists(filepath.Join(dir, "builder-ran")) {
			t.Error("the builder ran")
		}
		assertNothingPublished(t, dir)
	})
}
