package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// ImageRef is one entry of artifacts.images: an image the builder pushed,
// named by a URL whose scheme picks the storage plugin serving the
// registry ("oci://HOST/REPO:TAG"). Past the scheme it is an image
// reference of the distribution grammar: a repository, then a tag, a
// digest, or both.
type ImageRef struct {
	URL        string // as written (expanded)
	Scheme     string
	Repository string // HOST/REPO, the attestation's subject name
	Tag        string // "" when named by digest only
	Digest     string // "sha256:<hex>"; "" when named by tag only
}

// ByDigest is the URL naming the image by digest d, in the form ParseImage
// reads ("oci://HOST/REPO@sha256:HEX").
func (r ImageRef) ByDigest(d string) string { return r.Scheme + "://" + r.Repository + "@" + d }

var (
	// Compiled on first use: most configs name no image, and every
	// process start pays for what package init compiles.
	imageTagRE    = lazyRegexp(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	imageDigestRE = lazyRegexp(`^sha256:[a-f0-9]{64}$`)
	imageRepoRE   = lazyRegexp(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
)

// ParseImage reads an artifacts.images entry. It refuses a reference that
// is not a URL (write oci://HOST/REPO:TAG), carries credentials, or names
// no tag nor digest (an implicit :latest is a guess). Its messages never
// repeat a URL with credentials.
func ParseImage(raw string) (ImageRef, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return ImageRef{}, fmt.Errorf("%q is not a URL: name the image with the scheme of its registry's storage plugin, oci://%s", raw, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ImageRef{}, fmt.Errorf("not a URL (%v)", err.(*url.Error).Err)
	}
	if u.User != nil {
		return ImageRef{}, errImageCredentials
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return ImageRef{}, fmt.Errorf("%q: an image reference takes no query or fragment", raw)
	}
	return parseReference(raw, scheme, rest)
}

// ParseImageEntry reads an artifacts.images entry: a URL as ParseImage
// reads it, or a reference without a scheme (HOST/REPO:TAG, as the
// original format wrote them), whose Scheme and URL are then empty: the
// run gives it the scheme of the plugin that serves images (WithScheme).
func ParseImageEntry(raw string) (ImageRef, error) {
	if strings.Contains(raw, "://") {
		return ParseImage(raw)
	}
	host, _, _ := strings.Cut(raw, "/")
	if strings.Contains(host, "@") {
		return ImageRef{}, errImageCredentials
	}
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		// Docker's tools would guess Docker Hub: a guess, like :latest.
		return ImageRef{}, fmt.Errorf("%q names no registry host: write HOST/REPO:TAG (docker.io/%s for Docker Hub)", raw, raw)
	}
	return parseReference(raw, "", raw)
}

// WithScheme is the entry raw (ParseImageEntry) as a URL of scheme: raw
// itself when it has a scheme already.
func WithScheme(raw, scheme string) string {
	if strings.Contains(raw, "://") {
		return raw
	}
	return scheme + "://" + raw
}

var errImageCredentials = fmt.Errorf("carries a user name or password (user@host): credentials are refused in image references, give them through credentials: and a secret")

// parseReference reads rest, the image reference past the scheme of raw
// ("" when raw has none).
func parseReference(raw, scheme, rest string) (ImageRef, error) {
	if strings.ContainsAny(rest, "?#") {
		return ImageRef{}, fmt.Errorf("%q: an image reference takes no query or fragment", raw)
	}
	host, path, _ := strings.Cut(rest, "/")
	if host == "" || path == "" {
		prefix := ""
		if scheme != "" {
			prefix = scheme + "://"
		}
		return ImageRef{}, fmt.Errorf("%q: want %sHOST/REPO:TAG or %sHOST/REPO@sha256:HEX", raw, prefix, prefix)
	}
	ref := ImageRef{Scheme: scheme}
	if scheme != "" {
		ref.URL = raw
	}
	if before, d, ok := strings.Cut(path, "@"); ok {
		if !imageDigestRE().MatchString(d) {
			return ImageRef{}, fmt.Errorf("%q: digest %q is not sha256:<64 lowercase hex>", raw, d)
		}
		ref.Digest, path = d, before
	}
	if i := strings.LastIndex(path, ":"); i >= 0 && !strings.Contains(path[i:], "/") {
		if ref.Tag = path[i+1:]; !imageTagRE().MatchString(ref.Tag) {
			return ImageRef{}, fmt.Errorf("%q: tag %q is not a valid tag", raw, ref.Tag)
		}
		path = path[:i]
	}
	if ref.Tag == "" && ref.Digest == "" {
		return ImageRef{}, fmt.Errorf("%q names no tag nor digest: write %s:TAG or %s@sha256:HEX (no implicit :latest)", raw, raw, raw)
	}
	if !imageRepoRE().MatchString(path) {
		return ImageRef{}, fmt.Errorf("%q: repository %q is not a valid repository name (lowercase, [a-z0-9._-] segments)", raw, path)
	}
	ref.Repository = host + "/" + path
	return ref, nil
}

// imageRef is the check of an artifacts.images entry.
func imageRef(path string, v *string) string {
	if problem := required(path, v); problem != "" {
		return problem
	}
	if _, err := ParseImageEntry(*v); err != nil {
		return path + " " + err.Error()
	}
	return ""
}

// lazyRegexp compiles expr once, when first called.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
