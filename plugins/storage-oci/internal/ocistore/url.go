package ocistore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/mmbuild/mmbuild/sdk/redact"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// location is a parsed oci:// URL. It comes in two forms:
//
//   - a reference, oci://HOST/REPO:TAG or oci://HOST/REPO@sha256:HEX: what
//     a registry holds under that tag or digest (an image, or a file or
//     tree this plugin stored);
//   - an object, oci://HOST/REPO//PATH: a file or tree this plugin stores
//     in REPO under a tag derived from PATH (objectTag), so that a prefix
//     and file names (a pipeline's staging URL) map to objects.
type location struct {
	redacted string // the URL without user info (refused anyway) and query, for logs
	shown    string // redacted, quoted, for messages
	repo     name.Repository
	ref      name.Reference // the tag or digest read or written
	// object is the path of the object form ("" for a reference); it is
	// recorded in the artifact and checked when it is read.
	object string
	// name is the file name the object goes by: the last segment of the
	// object path, or of the repository for a reference.
	name string
}

// byDigest reports whether the URL names content by its digest.
func (l location) byDigest() bool {
	_, ok := l.ref.(name.Digest)
	return ok
}

// Limits of a URL.
const (
	maxURLLen    = 4096
	maxObjectLen = 1024
)

// parseURL checks an oci:// URL. Anything it cannot use is
// storage.ErrInvalidURL; a "." or ".." segment of an object path is
// storage.ErrUnsafePath. Credentials in the URL are refused: they come from
// the options (credentials:) or the docker config.
func parseURL(raw string, insecure bool) (location, error) {
	loc, err := parseLocation(raw, insecure)
	if err == nil {
		loc.redacted = redact.URL(raw)
		loc.shown = redact.QuoteURL(raw)
	}
	return loc, err
}

func parseLocation(raw string, insecure bool) (location, error) {
	shown := redact.QuoteURL(raw)
	invalid := func(why string) (location, error) {
		return location{}, fmt.Errorf("%w: %s: %s", storage.ErrInvalidURL, shown, why)
	}
	if len(raw) > maxURLLen {
		return invalid(fmt.Sprintf("longer than %d bytes", maxURLLen))
	}
	u, err := url.Parse(raw)
	if err != nil {
		err = redact.URLError(err) // a *url.Error repeats the raw URL
		return invalid(err.Error())
	}
	switch {
	case u.Scheme != "oci":
		return invalid("not an oci:// URL")
	case u.User != nil:
		return invalid("credentials do not belong in a URL: give them through credentials: (username with password or token) or a docker config (~/.docker/config.json, credential helpers)")
	case u.Opaque != "" || u.Host == "":
		return invalid("no registry: want oci://HOST[:PORT]/REPO:TAG, oci://HOST/REPO@sha256:HEX or oci://HOST/REPO//PATH")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return invalid("an oci URL takes no query or fragment")
	}
	var opts []name.Option
	opts = append(opts, name.StrictValidation)
	if insecure {
		opts = append(opts, name.Insecure)
	}
	path := strings.TrimPrefix(u.EscapedPath(), "/")
	if repoPath, objectPath, ok := strings.Cut(path, "//"); ok {
		return parseObject(shown, u.Host, repoPath, objectPath, opts)
	}
	return parseReference(shown, u.Host, path, opts)
}

// parseObject reads the object form, HOST/REPO//PATH.
func parseObject(shown, host, repoPath, objectPath string, opts []name.Option) (location, error) {
	invalid := func(why string) (location, error) {
		return location{}, fmt.Errorf("%w: %s: %s", storage.ErrInvalidURL, shown, why)
	}
	if strings.ContainsAny(repoPath, "%:@") {
		return invalid(fmt.Sprintf("repository %q: an object URL (REPO//PATH) names a repository, without tag or digest", repoPath))
	}
	repo, err := repository(host, repoPath, opts)
	if err != nil {
		return invalid(err.Error())
	}
	// One trailing "/" names the same object.
	objectPath = strings.TrimSuffix(objectPath, "/")
	if objectPath == "" {
		return invalid("no object path after \"//\"")
	}
	segs := strings.Split(objectPath, "/")
	for i, seg := range segs {
		s, err := url.PathUnescape(seg)
		switch {
		case err != nil:
			return invalid(err.Error())
		case s == "":
			return invalid(fmt.Sprintf("empty segment in object path %q", objectPath))
		case s == "." || s == "..":
			return location{}, fmt.Errorf("%s: %w: %q segment in object path", shown, storage.ErrUnsafePath, s)
		case strings.ContainsAny(s, "/\\"):
			return invalid(fmt.Sprintf("segment %q of the object path holds a slash", s))
		}
		segs[i] = s
	}
	object := strings.Join(segs, "/")
	if len(object) > maxObjectLen {
		return invalid(fmt.Sprintf("object path longer than %d bytes", maxObjectLen))
	}
	tag := repo.Tag(objectTag(object)) // a valid tag, by construction
	return location{repo: repo, ref: tag, object: object, name: segs[len(segs)-1]}, nil
}

// parseReference reads the reference form, HOST/REPO:TAG or
// HOST/REPO@sha256:HEX.
func parseReference(shown, host, path string, opts []name.Option) (location, error) {
	invalid := func(why string) (location, error) {
		return location{}, fmt.Errorf("%w: %s: %s", storage.ErrInvalidURL, shown, why)
	}
	if strings.Contains(path, "%") {
		return invalid("a repository, tag or digest has no percent-encoded character")
	}
	last := path[strings.LastIndex(path, "/")+1:]
	if path == "" || (!strings.Contains(last, ":") && !strings.Contains(last, "@")) {
		return invalid("no tag or digest: want oci://HOST/REPO:TAG, oci://HOST/REPO@sha256:HEX, or oci://HOST/REPO//PATH for an object this plugin stores")
	}
	var repoPath, sep, id string
	if i := strings.IndexByte(path, '@'); i >= 0 {
		repoPath, sep, id = path[:i], "@", path[i+1:]
	} else {
		i := strings.LastIndexByte(path, ':')
		repoPath, sep, id = path[:i], ":", path[i+1:]
	}
	repo, err := repository(host, repoPath, opts)
	if err != nil {
		return invalid(err.Error())
	}
	// The tag or digest is checked on a placeholder reference: the check
	// does not depend on the registry.
	var ref name.Reference
	if sep == "@" {
		if _, err := name.NewDigest(placeholderRegistry+"/r@"+id, name.StrictValidation); err != nil {
			return invalid(err.Error())
		}
		ref = repo.Digest(id)
	} else {
		if _, err := name.NewTag(placeholderRegistry+"/r:"+id, name.StrictValidation); err != nil {
			return invalid(err.Error())
		}
		ref = repo.Tag(id)
	}
	rp := repo.RepositoryStr()
	return location{repo: repo, ref: ref, name: rp[strings.LastIndex(rp, "/")+1:]}, nil
}

// placeholderRegistry stands for the registry when a repository name, tag
// or digest is checked: go-containerregistry only recognizes a host as a
// registry when it holds a "." or a ":" or is localhost, and a registry
// on a private network may be called "registry".
const placeholderRegistry = "registry.invalid"

// repository is repoPath on the registry host, its name checked against
// the distribution spec's rules.
func repository(host, repoPath string, opts []name.Option) (name.Repository, error) {
	if _, err := name.NewRepository(placeholderRegistry+"/"+repoPath, name.StrictValidation); err != nil {
		return name.Repository{}, fmt.Errorf("repository %q: %v", repoPath, err)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("registry %q: %v", host, err)
	}
	return reg.Repo(strings.Split(repoPath, "/")...), nil
}

// objectTag is the tag an object path is stored under: the path with every
// character a tag cannot hold turned into "_" (its last 95 characters, so
// the file name shows), "-", and 32 hex digits of the path's sha256, which
// keep two paths apart however alike they read. At most 128 characters,
// valid as a tag.
func objectTag(object string) string {
	sum := sha256.Sum256([]byte(object))
	h := hex.EncodeToString(sum[:16])
	var b strings.Builder
	for _, r := range object {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	readable := b.String()
	if len(readable) > 95 {
		readable = readable[len(readable)-95:]
	}
	readable = strings.TrimLeft(readable, ".-")
	if readable == "" {
		return h
	}
	return readable + "-" + h
}
