package provenance

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
)

// BuildConfig is what mmbuild records about a build beyond SLSA's common
// fields: buildConfig of a v0.2 statement, internalParameters of a v1 one
// (whose externalParameters take StorageOptions, which the user sets).
// Every fact is a field here; a new one is a field with its JSON name (in
// the alphabetical place of that name in wireConfig, so that v0.2 bytes
// keep sorted keys) and a line in docs/evidence.md.
type BuildConfig struct {
	// StagingKey is the build's content address (docs/staging-key.md);
	// Cacheable whether a later run may reuse the build. Both are written
	// when StagingKey is set.
	StagingKey string
	Cacheable  bool
	// StagingURL is where the subjects were published, credentials
	// removed: replay fetches the originals from there.
	StagingURL string
	// SourceDirty records a work tree with uncommitted changes.
	SourceDirty bool
	// Transfers are the config's transfers in order: the subjects each
	// sent, and where.
	Transfers []Transfer
	// Images are the subjects that are container images.
	Images []Image
	// StorageOptions are the storage plugins' options by the config path
	// of their use ("materials[0]"); never a credential.
	StorageOptions map[string]map[string]string
	// Isolation is the box the builder ran in, as applied; nil when the
	// statement records none.
	Isolation *isolation.Applied
}

// Transfer is one transfer as a statement records it.
type Transfer struct {
	Destination string   `json:"destination"`
	Files       []string `json:"files"`
}

// Image is one image subject as a statement records it.
type Image struct {
	URL    string `json:"url"`
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// ImageNames are the subjects that are images.
func (c BuildConfig) ImageNames() map[string]bool {
	out := map[string]bool{}
	for _, im := range c.Images {
		out[im.Name] = true
	}
	return out
}

// wireConfig is BuildConfig and the CI job as JSON. Its fields are in the
// alphabetical order of their names: encoding/json writes a struct in
// field order, and v0.2 statements have always had sorted keys.
type wireConfig struct {
	Cacheable      *bool                        `json:"cacheable,omitempty"`
	CI             *cifacts.Facts               `json:"ci,omitempty"`
	Images         []Image                      `json:"images,omitempty"`
	Isolation      *isolation.Applied           `json:"isolation,omitempty"`
	SourceDirty    bool                         `json:"sourceDirty,omitempty"`
	StagingKey     *string                      `json:"stagingKey,omitempty"`
	StagingURL     string                       `json:"stagingURL,omitempty"`
	StorageOptions map[string]map[string]string `json:"storageOptions,omitempty"`
	Transfers      []Transfer                   `json:"transfers,omitempty"`
}

// wire is what b records in buildConfig (v0.2); nil when nothing.
func (b Build) wire() *wireConfig {
	c := b.Config
	w := &wireConfig{
		CI: b.Run.CI, Images: c.Images, Isolation: c.Isolation, SourceDirty: c.SourceDirty,
		StagingURL: c.StagingURL, StorageOptions: c.StorageOptions, Transfers: c.Transfers,
	}
	if c.StagingKey != "" {
		key, cacheable := c.StagingKey, c.Cacheable
		w.StagingKey, w.Cacheable = &key, &cacheable
	}
	if data, _ := json.Marshal(w); string(data) == "{}" {
		return nil
	}
	return w
}

// readConfig reads mmbuild's buildConfig (or internalParameters) strictly
// into r: an attestation is untrusted input, and what a policy or replay
// reads from it must have the shape mmbuild writes.
func (r *Record) readConfig(data []byte) error {
	var w wireConfig
	if err := strictJSON(data, &w); err != nil {
		return fmt.Errorf("mmbuild's build configuration: %w", err)
	}
	r.Config = BuildConfig{
		Cacheable: w.Cacheable != nil && *w.Cacheable, Images: w.Images, Isolation: w.Isolation,
		SourceDirty: w.SourceDirty, StagingURL: w.StagingURL, StorageOptions: w.StorageOptions, Transfers: w.Transfers,
	}
	if w.StagingKey != nil {
		r.Config.StagingKey = *w.StagingKey
	}
	if a := w.Isolation; a != nil {
		if _, err := isolation.ParseMode(string(a.Mode)); err != nil || a.Mode == "" {
			return fmt.Errorf("reading the recorded isolation: mode %q", a.Mode)
		}
		// no-tcp is recorded, never asked for: a landlock box's none.
		if _, err := isolation.ParseNetwork(string(a.Network)); (err != nil && a.Network != isolation.NetworkNoTCP) || a.Network == "" {
			return fmt.Errorf("reading the recorded isolation: network %q", a.Network)
		}
	}
	if w.CI != nil && w.CI.Platform == "" {
		return errors.New("reading the recorded CI job: no platform")
	}
	r.CI = w.CI
	return nil
}
