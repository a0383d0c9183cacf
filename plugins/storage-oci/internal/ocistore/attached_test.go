package ocistore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// attachedReader is the oci:// backend's Attached, through the wire.
func attachedReader(t *testing.T) storage.AttachedReader {
	t.Helper()
	r, ok := conn(t).Storage().(storage.AttachedReader)
	if !ok {
		t.Fatal("the host's storage offers no Attached")
	}
	return r
}

// Attached gives back what Attach stored: nothing before, then the DSSE
// envelope once (it is both a referrer's layer and a layer of the .att
// tag) and the Sigstore bundle, byte for byte, with where each is kept.
// Another image's attestations are not its own.
func TestAttached(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	img := pushRandomImage(t, reg, "org/app:v1", 1)
	other := pushRandomImage(t, reg, "org/app:v2", 1)
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	otherDigest, err := other.Digest()
	if err != nil {
		t.Fatal(err)
	}
	_, a := attacher(t)
	r := attachedReader(t)
	subject := "oci://" + reg.Host + "/org/app@" + digest.String()

	dest := filepath.Join(t.TempDir(), "none")
	resp, err := r.Attached(t.Context(), &storage.AttachedRequest{SubjectURL: subject, DestPath: dest})
	if err != nil || len(resp.Files) != 0 {
		t.Fatalf("Attached before any attach: %+v, %v", resp, err)
	}
	if fi, err := os.Stat(dest); err != nil || !fi.IsDir() {
		t.Errorf("Attached made no folder: %v", err)
	}

	env := writeFile(t, "prov.json", `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`, 0o644)
	bundle := writeFile(t, "prov.sigstore.json", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`, 0o644)
	for _, f := range []struct{ path, mt string }{{env, MediaTypeDSSE}, {bundle, bundleType}} {
		if _, err := a.Attach(t.Context(), &storage.AttachRequest{SubjectURL: subject, SourcePath: f.path, MediaType: f.mt, PredicateType: slsa02}); err != nil {
			t.Fatalf("Attach %s: %v", f.path, err)
		}
	}
	dest = filepath.Join(t.TempDir(), "attached")
	resp, err = r.Attached(t.Context(), &storage.AttachedRequest{SubjectURL: subject, DestPath: dest})
	if err != nil {
		t.Fatalf("Attached: %v", err)
	}
	got := map[string]string{}
	for _, f := range resp.Files {
		got[f.MediaType] = readFile(t, filepath.Join(dest, f.Name))
		if f.Location == "" || filepath.Base(f.Name) != f.Name {
			t.Errorf("file %+v", f)
		}
	}
	if len(resp.Files) != 2 || got[MediaTypeDSSE] != readFile(t, env) || got[bundleType] != readFile(t, bundle) {
		t.Errorf("Attached gave %+v: %q, want the envelope and the bundle once each", resp.Files, got)
	}

	dest = filepath.Join(t.TempDir(), "other")
	if resp, err := r.Attached(t.Context(), &storage.AttachedRequest{SubjectURL: "oci://" + reg.Host + "/org/app@" + otherDigest.String(), DestPath: dest}); err != nil || len(resp.Files) != 0 {
		t.Errorf("Attached of the other image: %+v, %v; want nothing", resp, err)
	}
}

// What Attached refuses: a subject by tag (ErrInvalidURL), a subject that
// is not there (fs.ErrNotExist); nothing is written.
func TestAttachedBadInput(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	pushRandomImage(t, reg, "org/app:v1", 1)
	r := attachedReader(t)
	for _, tc := range []struct {
		url  string
		want error
	}{
		{"oci://" + reg.Host + "/org/app:v1", storage.ErrInvalidURL},
		{"oci://" + reg.Host + "/org/app@sha256:" + sha256Hex("nothing"), fs.ErrNotExist},
		{"oci://" + reg.Host + "/org/never@sha256:" + sha256Hex("nothing"), fs.ErrNotExist},
	} {
		dest := filepath.Join(t.TempDir(), "dest")
		_, err := r.Attached(t.Context(), &storage.AttachedRequest{SubjectURL: tc.url, DestPath: dest})
		if !errors.Is(err, tc.want) {
			t.Errorf("Attached %s: %v, want %v", tc.url, err, tc.want)
		}
		if _, serr := os.Lstat(dest); serr == nil {
			t.Errorf("Attached %s failed and left its folder", tc.url)
		}
		t.Logf("%s: %v", tc.url, err)
	}
}
