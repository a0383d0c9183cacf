package ocistore

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// noDockerConfig points the docker config at an empty folder, so the
// developer's own registry logins play no part.
func noDockerConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker"))
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "auth.json"))
	t.Setenv("XDG_RUNTIME_DIR", dir)
}

// registryAuth is what a test's own client (pushing fixtures, reading
// back) logs in with.
func registryAuth(reg *testservers.Registry) remote.Option {
	if reg.Username == "" {
		return remote.WithAuth(authn.Anonymous)
	}
	return remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password})
}

// pushRandomImage pushes a random OCI image of layers layers to ref
// (repo:tag on reg) and returns it.
func pushRandomImage(t *testing.T, reg *testservers.Registry, ref string, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(64<<10, layers)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	r, err := name.ParseReference(reg.Host+"/"+ref, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, registryAuth(reg)); err != nil {
		t.Fatalf("pushing %s: %v", r, err)
	}
	return img
}

// pushIndex pushes an index of one random image per platform to ref and
// returns the index and the images, by platform.
func pushIndex(t *testing.T, reg *testservers.Registry, ref string, platforms ...string) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	images := map[string]v1.Image{}
	for _, p := range platforms {
		img, err := random.Image(16<<10, 1)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		pl, err := v1.ParsePlatform(p)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Variant = pl.OS, pl.Architecture, pl.Variant
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: pl}})
		images[p] = img
	}
	r, err := name.ParseReference(reg.Host+"/"+ref, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, registryAuth(reg)); err != nil {
		t.Fatalf("pushing index %s: %v", r, err)
	}
	return idx, images
}

// get runs Get of u into a fresh destination and returns it.
func get(t *testing.T, s storage.Storage, u string, opts map[string]string) (string, *storage.GetResponse, error) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "dest")
	resp, err := s.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest, Options: opts})
	if err != nil {
		if _, serr := os.Lstat(dest); serr == nil {
			t.Errorf("Get %s failed (%v) but left its destination behind", u, err)
		}
	}
	return dest, resp, err
}

// put runs Put of src to u.
func put(t *testing.T, s storage.Storage, src, u string, opts map[string]string) (*storage.PutResponse, error) {
	t.Helper()
	return s.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: u, Options: opts})
}

// writeTree writes files (path → content) under a new folder and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	for rel, data := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// readTree reads every regular file under root (path → content), and
// fails on anything else but directories.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			t.Errorf("%s is a %v", p, d.Type())
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// writeFile writes data to a new file with mode and returns its path.
func writeFile(t *testing.T, name, data string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// getFileContent gets the file at u and checks it holds want.
func getFileContent(t *testing.T, s storage.Storage, u string, opts map[string]string, want string) {
	t.Helper()
	dest, _, err := get(t, s, u, opts)
	if err != nil {
		t.Fatalf("Get %s: %v", u, err)
	}
	if b, err := os.ReadFile(dest); err != nil || string(b) != want {
		t.Errorf("Get %s wrote %q (%v), want %q", u, b, err, want)
	}
}
