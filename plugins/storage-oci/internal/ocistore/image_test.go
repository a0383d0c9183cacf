package ocistore

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// An image material: fetched by digest, and by tag, as the same OCI image
// layout, which go-containerregistry reads back and validates.
func TestImageByDigestAndTag(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	img := pushRandomImage(t, reg, "org/app:v1", 3)
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	s := conn(t).Storage()

	byDigest := "oci://" + reg.Host + "/org/app@" + digest.String()
	dest, resp, err := get(t, s, byDigest, nil)
	if err != nil {
		t.Fatalf("Get %s: %v", byDigest, err)
	}
	if !resp.IsDir || resp.Name != "app" || resp.Files != 2+1+1+3 { // oci-layout, index.json, manifest, config, 3 layers
		t.Errorf("Get response %+v", resp)
	}
	idx, err := layout.ImageIndexFromPath(dest)
	if err != nil {
		t.Fatalf("reading the layout: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 || im.Manifests[0].Digest != digest {
		t.Fatalf("index.json: %+v, %v; want the one manifest %s", im, err, digest)
	}
	got, err := idx.Image(digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Errorf("the image in the layout does not validate: %v", err)
	}
	st, err := s.Stat(t.Context(), &storage.StatRequest{URL: byDigest})
	if err != nil || !st.IsDir || st.Size != resp.Bytes {
		t.Errorf("Stat %s: %+v, %v; want a dir of %d bytes", byDigest, st, err, resp.Bytes)
	}

	// By tag: the same bytes, so the same digest of the tree.
	destTag, _, err := get(t, s, "oci://"+reg.Host+"/org/app:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := readTree(t, dest), readTree(t, destTag); !maps.Equal(a, b) {
		t.Errorf("the layouts by tag and by digest differ: %v vs %v", keys(a), keys(b))
	}
}

// An image index: whole, or the image of one platform.
func TestImageIndexPlatform(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	idx, images := pushIndex(t, reg, "multi:v1", "linux/amd64", "linux/arm64/v8")
	s := conn(t).Storage()
	u := "oci://" + reg.Host + "/multi:v1"

	dest, _, err := get(t, s, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := layout.ImageIndexFromPath(dest)
	if err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	top, err := all.ImageIndex(idxDigest)
	if err != nil {
		t.Fatalf("the layout does not hold the index %s: %v", idxDigest, err)
	}
	if err := validate.Index(top); err != nil {
		t.Errorf("the index in the layout does not validate: %v", err)
	}

	dest, _, err = get(t, s, u, map[string]string{"platform": "linux/arm64/v8"})
	if err != nil {
		t.Fatal(err)
	}
	var index struct{ Manifests []struct{ Digest string } }
	if err := json.Unmarshal([]byte(readTree(t, dest)["index.json"]), &index); err != nil {
		t.Fatal(err)
	}
	arm, _ := images["linux/arm64/v8"].Digest()
	amd, _ := images["linux/amd64"].Digest()
	if len(index.Manifests) != 1 || index.Manifests[0].Digest != arm.String() {
		t.Errorf("index.json names %v, want the arm64 image %s", index.Manifests, arm)
	}
	if _, err := os.Stat(filepath.Join(dest, "blobs", "sha256", amd.Hex)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the amd64 manifest is in the layout of arm64 (%v)", err)
	}

	_, _, err = get(t, s, u, map[string]string{"platform": "windows/amd64"})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no image for platform windows/amd64") {
		t.Errorf("Get of a platform the index lacks: %v, want fs.ErrNotExist naming it", err)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
