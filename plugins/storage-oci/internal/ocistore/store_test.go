package ocistore

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/host"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// conn serves a Store over the SDK's real gRPC code, as the core sees it.
func conn(t *testing.T, opts ...Option) *host.Conn {
	return sdktest.Serve(t, plugin.WithName("oci"), plugin.WithStorage("oci", New(opts...)))
}

// TestConformance runs the SDK's storage suite against a real registry on
// loopback, objects stored under one repository.
func TestConformance(t *testing.T) {
	reg := testservers.StartRegistry(t)
	sdktest.Storage(t, conn(t).Storage(), "oci://"+reg.Host+"/conformance//")
}

// A file and a tree put at tags round-trip, as artifacts other OCI tools
// read: artifactType, an empty config, one raw layer per file titled with
// its path (what `oras pull` unpacks).
func TestFileAndTreeAtTag(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	s := conn(t).Storage()

	tool := writeFile(t, "mytool", "#!/bin/sh\necho hi\n", 0o755)
	u := "oci://" + reg.Host + "/tools/mytool:v1"
	if resp, err := put(t, s, tool, u, nil); err != nil || resp.Bytes != 18 || resp.Files != 1 || resp.IsDir {
		t.Fatalf("Put %s: %+v, %v", u, resp, err)
	}
	st, err := s.Stat(t.Context(), &storage.StatRequest{URL: u})
	if err != nil || st.IsDir || st.Size != 18 {
		t.Fatalf("Stat %s: %+v, %v", u, st, err)
	}
	dest, resp, err := get(t, s, u, nil)
	if err != nil {
		t.Fatalf("Get %s: %v", u, err)
	}
	if resp.Name != "mytool" || resp.Files != 1 || resp.IsDir {
		t.Errorf("Get response %+v, want the file named mytool", resp)
	}
	if b, _ := os.ReadFile(dest); string(b) != "#!/bin/sh\necho hi\n" {
		t.Errorf("Get wrote %q", b)
	}
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("mode of the file got: %v, %v; want 0755", fi.Mode(), err)
	}

	files := map[string]string{"README.md": "read me\n", "bin/run": "run\n", "lib/a/b.txt": "b\n", "same-as-b.txt": "b\n"}
	tu := "oci://" + reg.Host + "/bundle:v2"
	if resp, err := put(t, s, writeTree(t, files), tu, nil); err != nil || resp.Files != 4 || !resp.IsDir {
		t.Fatalf("Put tree %s: %+v, %v", tu, resp, err)
	}
	if st, err := s.Stat(t.Context(), &storage.StatRequest{URL: tu}); err != nil || !st.IsDir || st.Size != 16 {
		t.Errorf("Stat tree: %+v, %v; want a dir of 16 bytes", st, err)
	}
	dest, resp, err = get(t, s, tu, nil)
	if err != nil {
		t.Fatalf("Get tree %s: %v", tu, err)
	}
	if got := readTree(t, dest); !maps.Equal(got, files) || resp.Name != "bundle" || resp.Files != 4 || resp.Bytes != 16 {
		t.Errorf("Get tree: %v, %+v; want %v", got, resp, files)
	}

	// The manifest, as a registry client sees it.
	d, err := remote.Get(mustRef(t, reg.Host+"/bundle:v2"), registryAuth(reg))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(d.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	if d.MediaType != types.OCIManifestSchema1 || m.ArtifactType != ArtifactTree || m.Config.MediaType != types.OCIEmptyJSON || m.Config.Size != 2 || len(m.Layers) != 4 {
		t.Fatalf("manifest %s", d.Manifest)
	}
	var titles []string
	for _, l := range m.Layers {
		titles = append(titles, l.Annotations[AnnotationTitle])
		if l.MediaType != LayerMediaType {
			t.Errorf("layer %s has media type %s", l.Annotations[AnnotationTitle], l.MediaType)
		}
	}
	if want := []string{"README.md", "bin/run", "lib/a/b.txt", "same-as-b.txt"}; !slices.Equal(titles, want) {
		t.Errorf("layer titles %v, want %v", titles, want)
	}
}

// Object URLs (REPO//PATH) are what a staging URL becomes: each object a
// tag of the repository, named after its path.
func TestObjectURLs(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	s := conn(t).Storage()
	const key = "41ca308fc45027e61bb7cab81d9e3cc6"
	base := "oci://" + reg.Host + "/team/store//builds/" + key + "/"
	for _, f := range []string{"app.tar.gz", "provenance.json"} {
		if _, err := put(t, s, writeFile(t, f, "content of "+f, 0o644), base+f, nil); err != nil {
			t.Fatalf("Put %s: %v", base+f, err)
		}
	}
	tags, err := remote.List(mustRepo(t, reg.Host+"/team/store"), registryAuth(reg))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{objectTag("builds/" + key + "/app.tar.gz"), objectTag("builds/" + key + "/provenance.json")}
	slices.Sort(want)
	if !slices.Equal(tags, want) {
		t.Errorf("tags of team/store: %v, want %v", tags, want)
	}
	if !strings.HasPrefix(want[0], "builds_"+key+"_app.tar.gz-") {
		t.Errorf("tag %q does not read as its path", want[0])
	}
	// A trailing "/" names the same object; the name is the file's.
	dest, resp, err := get(t, s, base+"app.tar.gz/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "content of app.tar.gz" || resp.Name != "app.tar.gz" {
		t.Errorf("Get: %q, name %q", b, resp.Name)
	}
	// Only what this plugin stored there is an object: an image at the
	// object's tag is refused, not taken for it.
	pushRandomImage(t, reg, "team/store:"+objectTag("builds/"+key+"/image"), 1)
	if _, _, err := get(t, s, base+"image", nil); err == nil || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "not an object this plugin stored") {
		t.Errorf("Get of an object URL whose tag holds an image: %v", err)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRepo(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
