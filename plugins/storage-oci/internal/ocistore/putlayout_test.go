package ocistore

import (
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// An OCI image layout put to a tag is pushed as its image: the tag then
// resolves to the manifest the layout names, and Get gives the same
// layout back. A layout of two platform images needs the option platform;
// with it, that image is pushed. A broken layout is one line, nothing
// pushed.
func TestPutLayout(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	s := conn(t).Storage()

	img, err := random.Image(32<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "image")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	u := "oci://" + reg.Host + "/org/pushed:v1"
	resp, err := put(t, s, dir, u, nil)
	if err != nil || !resp.IsDir || resp.Bytes == 0 {
		t.Fatalf("Put of a layout: %+v, %v", resp, err)
	}
	st, err := s.Stat(t.Context(), &storage.StatRequest{URL: u})
	if err != nil || st.Digest != digest.String() {
		t.Fatalf("Stat after the push: %+v, %v; want %s", st, err, digest)
	}
	got, _, err := get(t, s, u, nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	back, err := layout.ImageIndexFromPath(got)
	if err != nil {
		t.Fatal(err)
	}
	bm, err := back.IndexManifest()
	if err != nil || len(bm.Manifests) != 1 || bm.Manifests[0].Digest != digest {
		t.Fatalf("Get gave back %+v, %v", bm, err)
	}

	multi := filepath.Join(t.TempDir(), "multi")
	mp, err := layout.Write(multi, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var armDigest v1.Hash
	for _, pl := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}} {
		im, err := random.Image(8<<10, 1)
		if err != nil {
			t.Fatal(err)
		}
		im = mutate.MediaType(im, types.OCIManifestSchema1)
		if err := mp.AppendImage(im, layout.WithPlatform(pl)); err != nil {
			t.Fatal(err)
		}
		if pl.Architecture == "arm64" {
			armDigest, _ = im.Digest()
		}
	}
	mu := "oci://" + reg.Host + "/org/multi:v1"
	_, err = put(t, s, multi, mu, nil)
	if err == nil || !strings.Contains(err.Error(), "index.json names 2 manifests: choose one with the option platform") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Put of two manifests without platform: %v", err)
	}
	t.Logf("two manifests: %v", err)
	if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: mu}); err == nil {
		t.Error("the refused layout was pushed")
	}
	if _, err := put(t, s, multi, mu, map[string]string{"platform": "linux/arm64"}); err != nil {
		t.Fatalf("Put with platform: %v", err)
	}
	if st, err := s.Stat(t.Context(), &storage.StatRequest{URL: mu}); err != nil || st.Digest != armDigest.String() {
		t.Fatalf("Stat after the platform push: %+v, %v; want %s", st, err, armDigest)
	}

	broken := writeTree(t, map[string]string{"oci-layout": `{"imageLayoutVersion":"1.0.0"}`, "index.json": "not json"})
	bu := "oci://" + reg.Host + "/org/broken:v1"
	if _, err := put(t, s, broken, bu, nil); err == nil || !strings.Contains(err.Error(), "the OCI layout") {
		t.Fatalf("Put of a broken layout: %v", err)
	} else {
		t.Logf("broken: %v", err)
	}
	if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: bu}); err == nil {
		t.Error("the broken layout was pushed")
	}
}
