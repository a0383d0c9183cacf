package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
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
	// imagesKey names the buildConfig entry recording the images.
	imagesKey = "images"
)

// image is one entry of artifacts.images, resolved once after the build:
// the attestation names this digest, whatever the tag says later.
type image struct {
	ref    config.ImageRef
	where  string // "mmbuild.yaml:9:7: artifacts.images[0]"
	digest string // "sha256:<hex>", the manifest digest the reference resolved to
}

// subject is the image as the attestation's subject: the repository and
// its manifest digest (an image index counts as one subject).
func (im image) subject() provenance.Resource {
	return provenance.Resource{URI: im.ref.Repository, Digest: provenance.Digest{digest.SHA256: strings.TrimPrefix(im.digest, "sha256:")}}
}

// imageRecord is an image as buildConfig records it, for the cache.
type imageRecord struct {
	URL    string `json:"url"`
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

func recordImages(imgs []image) []imageRecord {
	out := make([]imageRecord, 0, len(imgs))
	for _, im := range imgs {
		out = append(out, imageRecord{URL: remote.Redact(im.ref.URL), Name: im.ref.Repository, Digest: im.digest})
	}
	return out
}

// recordedImages reads the images a statement's buildConfig records, by
// subject name (none when it records none or is not readable).
func recordedImages(stmt *provenance.Record) map[string]imageRecord {
	data, err := json.Marshal(stmt.Extra)
	if err != nil {
		return nil
	}
	var bc struct {
		Images []imageRecord `json:"images"`
	}
	if json.Unmarshal(data, &bc) != nil {
		return nil
	}
	out := map[string]imageRecord{}
	for _, r := range bc.Images {
		out[r.Name] = r
	}
	return out
}

var manifestDigestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// resolveImages is the stage after the build: it resolves each image the
// builder pushed to its manifest digest through the storage plugin serving
// its URL, which must announce storage:attach. A reference that is not in
// the registry, a registry that fails, a plugin that gives no digest: one
// line naming the entry, before anything is signed or published.
func resolveImages(ctx context.Context, t tools, cfg *config.Config, store *remote.Store) ([]image, error) {
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
func attachImages(ctx context.Context, t tools, store *remote.Store, imgs []image, ev *evidence) error {
	if len(imgs) == 0 {
		return nil
	}
	if ev.envelope == nil {
		return errors.New("attaching to images: the attestation is not signed")
	}
	files := []struct {
		name, mediaType string
		data            []byte
		annotations     map[string]string
	}{
		{"provenance.dsse.json", mediaTypeDSSE, ev.envelope, nil},
		{SigstoreName, signing.SigstoreMediaType, ev.sigstore, map[string]string{"dev.sigstore.bundle.content": "dsse-envelope"}},
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
				PredicateType: ev.statement.PredicateType, Annotations: f.annotations,
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
func verifyCachedImage(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, rec imageRecord, want provenance.Digest) (bool, error) {
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
			return false, err
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
