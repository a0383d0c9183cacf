package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Media types of what is attached to an image: the signed provenance as a
// DSSE envelope (cosign 2's attestation tag and an OCI 1.1 referrer) and
// as a Sigstore bundle (the referrer cosign 3 reads).
const (
	mediaTypeDSSE = "application/vnd.dsse.envelope.v1+json"
)

// image is one entry of artifacts.images, resolved once after the build:
// the attestation names this digest, whatever the tag says later.
type image struct {
	ref    config.ImageRef
	where  string // "mmbuild.yaml:9:7: artifacts.images[0]"
	digest string // "sha256:<hex>", the manifest digest the reference resolved to
	// layout is the OCI image layout folder mmbuild pushes to ref itself
	// ("" when the builder pushed the image); digest is then its manifest's,
	// as the core hashed it.
	layout string
}

// subject is the image as the attestation's subject: the repository and
// its manifest digest (an image index counts as one subject).
func (im image) subject() provenance.Resource {
	return provenance.Resource{URI: im.ref.Repository, Digest: provenance.Digest{digest.SHA256: strings.TrimPrefix(im.digest, "sha256:")}}
}

// recordImages records the images by name, for the cache.
func recordImages(imgs []image) []provenance.Image {
	var out []provenance.Image
	for _, im := range imgs {
		out = append(out, provenance.Image{URL: remote.Redact(im.ref.URL), Name: im.ref.Repository, Digest: im.digest})
	}
	return out
}

// recordedImages are the images a statement records, by subject name.
func recordedImages(stmt *provenance.Record) map[string]provenance.Image {
	out := map[string]provenance.Image{}
	for _, r := range stmt.Config.Images {
		out[r.Name] = r
	}
	return out
}

// imageResolver knows which plugin serves container images: the plugin
// host (pluginhost.Host.ImageScheme).
type imageResolver interface {
	ImageScheme() (string, error)
}

// qualifyImages gives each artifacts.images entry written without a scheme
// (HOST/REPO:TAG, the original format's form) the URL scheme of the plugin
// that announces it serves images, so the core names no scheme. It runs in
// the plan, before any URL is resolved to its plugin.
func qualifyImages(cfg *config.Config, r resolver) error {
	for i, raw := range cfg.Artifacts.Images {
		if strings.Contains(raw, "://") {
			continue
		}
		path := fmt.Sprintf("artifacts.images[%d]", i)
		ir, ok := r.(imageResolver)
		if !ok {
			return fmt.Errorf("%s: %s %q has no scheme, and no plugin is known to serve images: write SCHEME://%s", cfg.PositionOf(path), path, raw, raw)
		}
		scheme, err := ir.ImageScheme()
		if err != nil {
			return fmt.Errorf("%s: %s %q has no scheme: %w", cfg.PositionOf(path), path, raw, err)
		}
		cfg.Artifacts.Images[i] = config.WithScheme(raw, scheme)
	}
	return nil
}

var manifestDigestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// resolveImages is the stage after the build: it resolves each image the
// builder pushed to its manifest digest through the storage plugin serving
// its URL, which must announce storage:attach. A reference that is not in
// the registry, a registry that fails, a plugin that gives no digest: one
// line naming the entry, before anything is signed or published.
func resolveImages(ctx context.Context, t tools, cfg *config.Config, store *remote.Store, workDir string) ([]image, error) {
	var out []image
	for i, raw := range cfg.Artifacts.Images {
		path := fmt.Sprintf("artifacts.images[%d]", i)
		im := image{where: cfg.PositionOf(path).String() + ": " + path}
		var err error
		if im.ref, err = config.ParseImage(raw); err != nil {
			return nil, fmt.Errorf("%s %w", im.where, err)
		}
		if !store.Capable(raw, storage.CapabilityAttach) {
			return nil, fmt.Errorf("%s: the storage plugin serving %s:// does not announce %s: it cannot attach an attestation to an image", im.where, im.ref.Scheme, storage.CapabilityAttach)
		}
		if i < len(cfg.Artifacts.ImageLayouts) && cfg.Artifacts.ImageLayouts[i] != "" {
			// Pushed by mmbuild when it publishes: attested by the
			// digest the core computes from the layout now.
			lw := path + ".layout"
			if im.layout, err = workspace.Join(workDir, cfg.Artifacts.ImageLayouts[i]); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", cfg.PositionOf(lw), lw, err)
			}
			if im.digest, err = layoutDigest(im.layout); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", cfg.PositionOf(lw), lw, err)
			}
			if im.ref.Digest != "" && im.ref.Digest != im.digest {
				return nil, fmt.Errorf("%s: the layout's image is %s, not the digest the reference names", im.where, im.digest)
			}
			t.log.Info("image layout", "ref", store.Shown(raw), "digest", im.digest)
			out = append(out, im)
			continue
		}
		if im.digest, err = resolveImage(ctx, store, im); err != nil {
			return nil, err
		}
		if im.ref.Digest != "" && im.ref.Digest != im.digest {
			return nil, fmt.Errorf("%s: %s resolves to %s, not the digest it names", im.where, store.Shown(raw), im.digest)
		}
		t.log.Info("image", "ref", store.Shown(raw), "digest", im.digest)
		out = append(out, im)
	}
	return out, nil
}

// resolveImage asks the image's plugin what its reference names now.
func resolveImage(ctx context.Context, store *remote.Store, im image) (string, error) {
	st, err := store.Stat(ctx, im.ref.URL, nil)
	switch {
	case errors.Is(err, remote.ErrNotFound):
		return "", fmt.Errorf("%s: %s is not in the registry after the build (the builder must push it): %w", im.where, store.Shown(im.ref.URL), err)
	case err != nil:
		return "", fmt.Errorf("%s: %w", im.where, err)
	case !manifestDigestRE.MatchString(st.Digest):
		return "", fmt.Errorf("%s: the storage plugin resolved %s to %q, not a sha256 manifest digest", im.where, store.Shown(im.ref.URL), st.Digest)
	}
	return st.Digest, nil
}

// ErrImageMoved reports an image tag that named another manifest after the
// attestation was attached than when the build was attested.
var ErrImageMoved = errors.New("the image tag moved")

// attachImages attaches the signed provenance to each image, by the digest
// resolved after the build: as a DSSE envelope and as a Sigstore bundle.
// Then it resolves each reference again: a tag that moved meanwhile fails
// the run (the attestation stays attached to the digest it attests), before
// the statement is published.
func attachImages(ctx context.Context, t tools, store *remote.Store, imgs []image, ev *evidence.Evidence) error {
	if len(imgs) == 0 {
		return nil
	}
	if ev.Envelope == nil {
		return errors.New("attaching to images: the attestation is not signed")
	}
	files := []struct {
		name, mediaType string
		data            []byte
		annotations     map[string]string
	}{
		{"provenance.dsse.json", mediaTypeDSSE, ev.Envelope, nil},
		{evidence.SigstoreName, signing.SigstoreMediaType, ev.Sigstore, map[string]string{"dev.sigstore.bundle.content": "dsse-envelope"}},
	}
	for _, im := range imgs {
		subject := im.ref.ByDigest(im.digest)
		for _, f := range files {
			tmp, err := t.ws.StagingPath(f.name)
			if err != nil {
				return err
			}
			if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
				return err
			}
			resp, err := store.Attach(ctx, storage.AttachRequest{
				SubjectURL: subject, SourcePath: tmp, MediaType: f.mediaType,
				PredicateType: ev.Statement.PredicateType, Annotations: f.annotations,
			})
			if err != nil {
				return fmt.Errorf("%s: attaching the attestation: %w", im.where, err)
			}
			t.log.Info("attached", "image", store.Shown(subject), "media_type", f.mediaType, "at", strings.Join(resp.Locations, " "))
		}
	}
	for _, im := range imgs {
		now, err := resolveImage(ctx, store, im)
		if err != nil {
			return err
		}
		if now != im.digest {
			return fmt.Errorf("%s: %w: %s named %s when the build was attested and names %s now: the attestation stays attached to %s only, and the statement is not published",
				im.where, ErrImageMoved, store.Shown(im.ref.URL), im.digest, now, im.digest)
		}
	}
	return nil
}

// verifyCachedImage checks an image subject of a cached statement: the
// config names the image, and its reference still resolves to the digest
// attested. A tag that moved since is a miss: the build runs again and
// attests what the tag names now.
func verifyCachedImage(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, rec provenance.Image, want provenance.Digest) (bool, error) {
	for i, raw := range cfg.Artifacts.Images {
		if remote.Redact(raw) != rec.URL {
			continue
		}
		path := fmt.Sprintf("artifacts.images[%d]", i)
		ref, err := config.ParseImage(raw)
		if err != nil || ref.Repository != rec.Name || "sha256:"+want[digest.SHA256] != rec.Digest {
			break
		}
		now, err := resolveImage(ctx, store, image{ref: ref, where: cfg.PositionOf(path).String() + ": " + path})
		if errors.Is(err, remote.ErrNotFound) {
			t.log.Warn("the cached build's image is gone: rebuilding", "image", store.Shown(raw))
			return false, nil
		}
		if err != nil {
			return false, cacheError(cfg, "", raw, err)
		}
		if now != rec.Digest {
			t.log.Warn("the cached build's image tag names another image now: rebuilding", "image", store.Shown(raw), "attested", rec.Digest, "now", now)
			return false, nil
		}
		return true, nil
	}
	t.log.Warn("the cached attestation names an image the config does not: rebuilding", "name", rec.Name)
	return false, nil
}

// pushLayouts pushes each image mmbuild holds as a layout to its reference
// through the storage plugin, then checks that the reference names the
// digest that was attested. It runs when publishing, after the artifacts.
func pushLayouts(ctx context.Context, store *remote.Store, imgs []image) error {
	for _, im := range imgs {
		if im.layout == "" {
			continue
		}
		if _, err := store.Put(ctx, im.layout, im.ref.URL, nil); err != nil {
			return fmt.Errorf("%s: pushing the image layout: %w", im.where, err)
		}
		got, err := resolveImage(ctx, store, im)
		if err != nil {
			return err
		}
		if got != im.digest {
			return fmt.Errorf("%s: %s names %s after pushing the layout, whose image is %s: the attestation is not attached and the statement is not published", im.where, store.Shown(im.ref.URL), got, im.digest)
		}
	}
	return nil
}

// maxIndexSize bounds a layout's index.json as read by the core.
const maxIndexSize = 1 << 20

// layoutDigest is the manifest digest of the one image an OCI image layout
// folder holds: the one manifest its index.json names, whose blob the core
// hashes itself. Everything is read inside the folder (os.Root: no link or
// ".." leads out of it).
func layoutDigest(dir string) (string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("not an OCI image layout folder: %w", err)
	}
	defer root.Close()
	var marker struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := readJSON(root, "oci-layout", &marker); err != nil || marker.Version == "" {
		return "", fmt.Errorf("%s is not an OCI image layout (no oci-layout file with imageLayoutVersion)", dir)
	}
	var index struct {
		Manifests []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"manifests"`
	}
	if err := readJSON(root, "index.json", &index); err != nil {
		return "", fmt.Errorf("reading its index.json: %w", err)
	}
	if n := len(index.Manifests); n != 1 {
		return "", fmt.Errorf("its index.json names %d manifests, want the one image to push (write one image, or an image index as one manifest)", n)
	}
	d := index.Manifests[0].Digest
	if !manifestDigestRE.MatchString(d) {
		return "", fmt.Errorf("its index.json names the manifest %q, not sha256:<hex>", d)
	}
	f, err := root.Open("blobs/sha256/" + strings.TrimPrefix(d, "sha256:"))
	if err != nil {
		return "", fmt.Errorf("the manifest %s its index.json names: %w", d, err)
	}
	defer f.Close()
	set, _, err := digest.Reader(f)
	if err != nil {
		return "", fmt.Errorf("hashing the manifest %s: %w", d, err)
	}
	if got := "sha256:" + set[digest.SHA256]; got != d {
		return "", fmt.Errorf("the blob of manifest %s hashes to %s", d, got)
	}
	return d, nil
}

func readJSON(root *os.Root, name string, v any) error {
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	if err != nil {
		return err
	}
	if len(data) > maxIndexSize {
		return fmt.Errorf("%s is larger than %d KiB", name, maxIndexSize>>10)
	}
	return json.Unmarshal(data, v)
}
