package sbom

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	catalog "github.com/mmbuild/mmbuild/sdk/sbom"
)

// Formats of the SBOM documents.
const (
	SPDX      = "spdx"      // SPDX 2.3 JSON, the default
	CycloneDX = "cyclonedx" // CycloneDX 1.6 JSON
)

// Formats lists the formats, default first.
var Formats = []string{SPDX, CycloneDX}

// Inputs is everything the SBOMs of one build say.
type Inputs struct {
	// Name names the document (the project's folder).
	Name string
	// Created is the documents' creation time: SOURCE_DATE_EPOCH, so that
	// a reproducible build has reproducible SBOMs.
	Created   time.Time
	Artifacts []Artifact
	// Source is the repository and commit built, nil for an unversioned
	// work tree.
	Source    *Source
	Materials []Material
	// Tools built or described the artifacts: mmbuild, the handler
	// plugin, the cataloguer.
	Tools []Tool
}

// Artifact is one artifact: its name as published, its digests (as the
// core computed them: sha256 required), size, where it was published
// (empty: not published) and what is inside it (nil: not catalogued).
type Artifact struct {
	Name             string
	Digest           map[string]string
	Size             int64
	DownloadLocation string
	Contents         *Contents
}

// Contents is what a cataloger found inside an artifact.
type Contents struct {
	Packages []catalog.Package
	Files    []catalog.File
}

// Source is the repository and commit the build was made from.
type Source struct {
	Repo, Commit string
}

// Material is an input of the build: where it was fetched from and its
// verified digests.
type Material struct {
	URI    string
	Digest map[string]string
}

// Tool is a program that made or described the artifacts.
type Tool struct {
	Name, Version string
}

// checksums are the digest names written, in order, with their hex length.
var checksums = []struct {
	alg string
	hex int
}{{"sha256", 64}, {"sha512", 128}, {"sha1", 40}}

// normalized checks the inputs and returns a copy in a fixed order: the
// documents' bytes depend on the inputs, never on the order they came in.
func (in Inputs) normalized() (Inputs, error) {
	if strings.TrimSpace(in.Name) == "" {
		return in, errors.New("writing SBOM: empty document name")
	}
	if len(in.Artifacts) == 0 {
		return in, errors.New("writing SBOM: no artifacts")
	}
	in.Created = in.Created.UTC().Truncate(time.Second)
	in.Artifacts = append([]Artifact(nil), in.Artifacts...)
	sort.SliceStable(in.Artifacts, func(i, j int) bool { return in.Artifacts[i].Name < in.Artifacts[j].Name })
	for i, a := range in.Artifacts {
		if a.Name == "" {
			return in, errors.New("writing SBOM: an artifact has no name")
		}
		if i > 0 && in.Artifacts[i-1].Name == a.Name {
			return in, fmt.Errorf("writing SBOM: artifact %s given twice", a.Name)
		}
		if a.Size < 0 {
			return in, fmt.Errorf("writing SBOM: artifact %s has a negative size", a.Name)
		}
		if a.Digest["sha256"] == "" {
			return in, fmt.Errorf("writing SBOM: artifact %s has no sha256", a.Name)
		}
		for _, c := range checksums {
			if v, ok := a.Digest[c.alg]; ok && !isHex(v, c.hex) {
				return in, fmt.Errorf("writing SBOM: artifact %s: malformed %s %q", a.Name, c.alg, v)
			}
		}
		if a.Contents != nil {
			c := &Contents{
				Packages: append([]catalog.Package(nil), a.Contents.Packages...),
				Files:    append([]catalog.File(nil), a.Contents.Files...),
			}
			sort.SliceStable(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
			sort.SliceStable(c.Packages, func(i, j int) bool {
				pi, pj := c.Packages[i], c.Packages[j]
				if pi.Name != pj.Name {
					return pi.Name < pj.Name
				}
				if pi.Version != pj.Version {
					return pi.Version < pj.Version
				}
				return pi.PURL < pj.PURL
			})
			for _, f := range c.Files {
				if !isHex(f.SHA256, 64) || !isHex(f.SHA1, 40) {
					return in, fmt.Errorf("writing SBOM: artifact %s: file %s lacks a well-formed sha256 and sha1", a.Name, f.Path)
				}
			}
			in.Artifacts[i].Contents = c
		}
	}
	in.Materials = append([]Material(nil), in.Materials...)
	sort.SliceStable(in.Materials, func(i, j int) bool { return in.Materials[i].URI < in.Materials[j].URI })
	in.Tools = append([]Tool(nil), in.Tools...)
	sort.SliceStable(in.Tools, func(i, j int) bool { return in.Tools[i].Name < in.Tools[j].Name })
	return in, nil
}

// prepared is in normalized, and the hex digest of that.
func (in Inputs) prepared() (Inputs, string, error) {
	n, err := in.normalized()
	if err != nil {
		return n, "", err
	}
	sum, err := n.digestOf()
	return n, sum, err
}

// digestOf is the sha256 of the canonical JSON of the inputs: documents'
// namespaces and serial numbers derive from it, so they are unique per
// input and reproducible.
func (in Inputs) digestOf() (string, error) {
	b, err := json.Marshal(in) // map keys sorted, slices normalized
	if err != nil {
		return "", fmt.Errorf("writing SBOM: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// materialName is a material's short name: the last segment of its URI.
func materialName(uri string) string {
	u := uri
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	name := path.Base(strings.TrimSuffix(u, "/"))
	if name == "" || name == "." || name == "/" {
		return uri
	}
	return name
}

// downloadable reports whether a URI is a location SPDX and CycloneDX
// readers can fetch from: any absolute URI but a file: one, which names a
// path on the machine that built (RFC 8089). The scheme is not looked up in
// a list: a third party's storage plugin (gcs://, azblob://) serves a
// location as much as the first-party ones do.
func downloadable(uri string) bool {
	u, err := url.Parse(uri)
	return err == nil && u.Scheme != "" && !strings.EqualFold(u.Scheme, "file") && (u.Host != "" || u.Opaque != "" || u.Path != "")
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

var archiveSuffixes = []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".zip", ".jar", ".war"}

func isArchive(name string) bool {
	lower := strings.ToLower(name)
	for _, s := range archiveSuffixes {
		if strings.HasSuffix(lower, s) {
			return true
		}
	}
	return false
}
