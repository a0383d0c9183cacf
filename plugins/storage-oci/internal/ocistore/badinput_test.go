package ocistore

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// What does not exist is fs.ErrNotExist, for Stat and Get alike.
func TestMissingReference(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	pushRandomImage(t, reg, "org/app:v1", 1)
	s := conn(t).Storage()
	for _, u := range []string{
		"oci://" + reg.Host + "/org/app:v2",     // no such tag
		"oci://" + reg.Host + "/org/nothing:v1", // no such repository
		"oci://" + reg.Host + "/org/app@sha256:0000000000000000000000000000000000000000000000000000000000000000", // no such digest
		"oci://" + reg.Host + "/org/app//missing/object",
	} {
		if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: u}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat %s: %v, want fs.ErrNotExist", u, err)
		}
		_, _, err := get(t, s, u, nil)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get %s: %v, want fs.ErrNotExist", u, err)
		}
		t.Logf("Get %s: %v", u, err)
	}
}

// Bytes that do not match their digest are refused, and nothing is left:
// a layer changed in the registry's storage, and a manifest.
func TestDigestMismatch(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	img := pushRandomImage(t, reg, "org/app:v1", 2)
	digest, _ := img.Digest()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	s := conn(t).Storage()
	u := "oci://" + reg.Host + "/org/app@" + digest.String()
	if _, _, err := get(t, s, u, nil); err != nil {
		t.Fatalf("Get before the change: %v", err)
	}

	// The same size, other bytes.
	ld, _ := layers[1].Digest()
	corrupt(t, reg.BlobPath(ld.String()))
	_, _, err = get(t, s, u, nil)
	if err == nil || !strings.Contains(err.Error(), ld.String()) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("Get of an image whose layer changed: %v, want an error naming the layer and its checksum", err)
	}
	t.Logf("layer changed: %v", err)

	// A changed manifest, fetched by digest: still JSON the registry
	// serves, but other bytes.
	mp := reg.BlobPath(digest.String())
	b, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mp, append(b[:len(b)-1], ' ', '}'), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = get(t, s, u, nil)
	if err == nil || !strings.Contains(err.Error(), "does not match requested digest") {
		t.Errorf("Get of a manifest that does not match its digest: %v", err)
	}
	t.Logf("manifest changed: %v", err)

	// A stored file whose blob changed.
	src := writeFile(t, "f.txt", "the stored bytes\n", 0o644)
	fu := "oci://" + reg.Host + "/store//f.txt"
	if _, err := put(t, s, src, fu, nil); err != nil {
		t.Fatal(err)
	}
	corrupt(t, reg.BlobPath("sha256:"+sha256Hex("the stored bytes\n")))
	if _, _, err := get(t, s, fu, nil); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("Get of a stored file whose blob changed: %v", err)
	}
}

// corrupt flips the last byte of the file at p, in place.
func corrupt(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// URLs the plugin cannot use, and options it does not take: one clear
// error each, before any request.
func TestBadInput(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	s := conn(t).Storage()
	src := writeFile(t, "f.txt", "x", 0o644)
	h := reg.Host
	for _, c := range []struct {
		url     string
		opts    map[string]string
		want    error
		message string
	}{
		{url: "oci://user:s3cret-pw@" + h + "/org/app:v1", want: storage.ErrInvalidURL, message: "credentials do not belong in a URL"},
		{url: "oci://" + h + "/org/app", want: storage.ErrInvalidURL, message: "no tag or digest"},
		{url: "oci://" + h + "/Org/App:v1", want: storage.ErrInvalidURL, message: "repository"},
		{url: "oci://" + h + "/org/app:v1?x=1", want: storage.ErrInvalidURL, message: "no query"},
		{url: "oci://" + h + "/org/app//", want: storage.ErrInvalidURL, message: "no object path"},
		{url: "oci://" + h + "/org/app//a//b", want: storage.ErrInvalidURL, message: "empty segment"},
		{url: "oci://" + h + "/org/app//a/../b", want: storage.ErrUnsafePath, message: `".." segment`},
		{url: "oci://" + h + "/org/app:v1//a", want: storage.ErrInvalidURL, message: "without tag or digest"},
		{url: "oci:///org/app:v1", want: storage.ErrInvalidURL, message: "no registry"},
		{url: "oci://" + h + "/org/app:v1", opts: map[string]string{"region": "x"}, message: `unknown oci storage option "region"`},
		{url: "oci://" + h + "/org/app:v1", opts: map[string]string{"password": "pw-only-99"}, message: "option password needs username"},
		{url: "oci://" + h + "/org/app:v1", opts: map[string]string{"insecure": "yes"}, message: "option insecure"},
		{url: "oci://" + h + "/org/app:v1", opts: map[string]string{"platform": "linux"}, message: "option platform"},
	} {
		_, _, err := get(t, s, c.url, c.opts)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.message) {
			t.Errorf("Get %s %v: %v, want %v saying %q", c.url, c.opts, err, c.want, c.message)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "s3cret-pw") || strings.Contains(msg, "pw-only-99") || strings.Contains(msg, "\n") {
			t.Errorf("Get %s: the message shows a credential or spans lines: %q", c.url, msg)
		}
		t.Logf("%s: %v", c.url, err)
	}

	// A digest names content: nothing can be pushed to it.
	u := "oci://" + h + "/org/app@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	if _, err := put(t, s, src, u, nil); !errors.Is(err, storage.ErrInvalidURL) || !strings.Contains(err.Error(), "put to a tag") {
		t.Errorf("Put to a digest: %v", err)
	}
	if _, err := put(t, s, src, "oci://"+h+"/org/app:v1", map[string]string{"platform": "linux/amd64"}); err == nil || !strings.Contains(err.Error(), "Put of files takes none") {
		t.Errorf("Put with a platform: %v", err)
	}
	// A tree holds regular files only.
	tree := writeTree(t, map[string]string{"a.txt": "a"})
	if err := os.Symlink("a.txt", tree+"/link"); err != nil {
		t.Fatal(err)
	}
	if _, err := put(t, s, tree, "oci://"+h+"/org/tree:v1", nil); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "link") {
		t.Errorf("Put of a tree holding a symlink: %v, want errors.ErrUnsupported", err)
	}
}
