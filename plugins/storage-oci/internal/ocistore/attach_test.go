package ocistore

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

const (
	slsa02     = "https://slsa.dev/provenance/v0.2"
	spdx       = "https://spdx.dev/Document/v2.3"
	bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
)

// attacher is the oci:// backend as the core sees it, through the wire.
func attacher(t *testing.T) (storage.Storage, storage.Attacher) {
	t.Helper()
	s := conn(t).Storage()
	a, ok := s.(storage.Attacher)
	if !ok {
		t.Fatal("the host's storage offers no Attach")
	}
	return s, a
}

// layersOf reads the image at ref (a tag or digest on reg) and returns its
// manifest and each layer's bytes.
func layersOf(t *testing.T, reg *testservers.Registry, ref string) (*v1.Manifest, []string) {
	t.Helper()
	r, err := name.ParseReference(reg.Host+"/"+ref, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, registryAuth(reg))
	if err != nil {
		t.Fatalf("reading %s: %v", r, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return m, out
}

// Stat of an image tag gives its manifest digest. Attach of a DSSE
// envelope writes a referrer (artifactType in-toto) and cosign's .att tag;
// a second envelope is appended there, the first again is not; a Sigstore
// bundle is a referrer of its own media type, annotated as cosign 3 writes
// it. The referrers list holds each once.
func TestAttach(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	img := pushRandomImage(t, reg, "org/app:v1", 1)
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	s, a := attacher(t)
	st, err := s.Stat(t.Context(), &storage.StatRequest{URL: "oci://" + reg.Host + "/org/app:v1"})
	if err != nil || st.Digest != digest.String() {
		t.Fatalf("Stat: %+v, %v; want the digest %s", st, err, digest)
	}
	subject := "oci://" + reg.Host + "/org/app@" + digest.String()
	env1 := writeFile(t, "prov.json", `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`, 0o644)
	env2 := writeFile(t, "sbom.json", `{"payloadType":"application/vnd.in-toto+json","payload":"e30K","signatures":[]}`, 0o644)
	bundle := writeFile(t, "prov.sigstore.json", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`, 0o644)

	resp, err := a.Attach(t.Context(), &storage.AttachRequest{SubjectURL: subject, SourcePath: env1, MediaType: MediaTypeDSSE, PredicateType: slsa02})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	attTag := "org/app:sha256-" + digest.Hex + ".att"
	if len(resp.Locations) != 2 || !strings.HasPrefix(resp.Locations[0], "oci://"+reg.Host+"/org/app@sha256:") || resp.Locations[1] != "oci://"+reg.Host+"/"+attTag {
		t.Errorf("locations %v", resp.Locations)
	}
	for _, again := range []struct{ path, pt string }{{env2, spdx}, {env1, slsa02}} {
		if _, err := a.Attach(t.Context(), &storage.AttachRequest{SubjectURL: subject, SourcePath: again.path, MediaType: MediaTypeDSSE, PredicateType: again.pt}); err != nil {
			t.Fatalf("Attach %s: %v", again.path, err)
		}
	}
	m, layers := layersOf(t, reg, attTag)
	if len(layers) != 2 || layers[0] != readFile(t, env1) || layers[1] != readFile(t, env2) {
		t.Fatalf("the .att image holds %q, want the two envelopes in order", layers)
	}
	for i, pt := range []string{slsa02, spdx} {
		l := m.Layers[i]
		if sig, ok := l.Annotations[annotationCosignSignature]; l.MediaType != MediaTypeDSSE || !ok || sig != "" || l.Annotations[annotationPredicateType] != pt {
			t.Errorf("layer %d of the .att image: %+v", i, l)
		}
	}

	bresp, err := a.Attach(t.Context(), &storage.AttachRequest{SubjectURL: subject, SourcePath: bundle, MediaType: bundleType, PredicateType: slsa02,
		Annotations: map[string]string{"org.example/note": "x"}})
	if err != nil || len(bresp.Locations) != 1 {
		t.Fatalf("Attach of a bundle: %+v, %v", bresp, err)
	}
	d, err := name.NewDigest(reg.Host+"/org/app@"+digest.String(), name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(d, registryAuth(reg))
	if err != nil {
		t.Fatalf("referrers: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, d := range im.Manifests {
		types = append(types, d.ArtifactType)
		if d.ArtifactType == bundleType {
			bm, bl := layersOf(t, reg, "org/app@"+d.Digest.String())
			if len(bl) != 1 || bl[0] != readFile(t, bundle) || bm.Subject == nil || bm.Subject.Digest != digest ||
				bm.Annotations[annotationBundlePredicate] != slsa02 || bm.Annotations[annotationBundleContent] != "dsse-envelope" || bm.Annotations["org.example/note"] != "x" {
				t.Errorf("the bundle referrer: %+v with %q", bm, bl)
			}
		}
	}
	slices.Sort(types)
	if want := []string{bundleType, mediaTypeInToto, mediaTypeInToto}; !slices.Equal(types, want) {
		t.Errorf("referrers of the image: %v, want %v (the envelope attached twice counted once)", types, want)
	}
}

// What Attach refuses: a subject by tag, a subject that is not there, a
// media type that is none, a registry that refuses the push; each one
// line with the storage sentinel, nothing written.
func TestAttachBadInput(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t, testservers.WithRegistryAuth())
	img := pushRandomImage(t, reg, "org/app:v1", 1)
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	_, a := attacher(t)
	env := writeFile(t, "prov.json", `{}`, 0o644)
	account := map[string]string{"username": reg.Username, "password": reg.Password}
	base := "oci://" + reg.Host + "/org/app"
	for _, tc := range []struct {
		name, url, mediaType string
		options              map[string]string
		want                 error
		msg                  string
	}{
		{"by tag", base + ":v1", MediaTypeDSSE, account, storage.ErrInvalidURL, "by its digest"},
		{"missing", base + "@sha256:" + strings.Repeat("0", 64), MediaTypeDSSE, account, fs.ErrNotExist, "reading the image to attach to"},
		{"media type", base + "@" + digest.String(), "dsse", account, nil, `media type "dsse"`},
		{"refused", base + "@" + digest.String(), MediaTypeDSSE, nil, fs.ErrPermission, "UNAUTHORIZED"},
		{"credentials in the URL", "oci://u:secret-pw@" + reg.Host + "/org/app@" + digest.String(), MediaTypeDSSE, nil, storage.ErrInvalidURL, "credentials do not belong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Attach(t.Context(), &storage.AttachRequest{SubjectURL: tc.url, SourcePath: env, MediaType: tc.mediaType, PredicateType: slsa02, Options: tc.options})
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "secret-pw") {
				t.Fatalf("Attach: %v; want one line with %q matching %v", err, tc.msg, tc.want)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
	r, err := name.NewTag(reg.Host+"/org/app:sha256-"+digest.Hex+".att", name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(r, registryAuth(reg)); err == nil {
		t.Error("a refused Attach left an .att tag")
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
