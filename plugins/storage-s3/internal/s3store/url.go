package s3store

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/mmbuild/mmbuild/sdk/redact"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// location is a parsed s3:// URL: a bucket and a key. A key that is empty or
// ends in "/" names a tree (a prefix); any other key names an object, or,
// when no object has that key, the tree under key+"/".
type location struct {
	url    string // the URL as given; it has no user info
	bucket string
	key    string
}

// isPrefix reports whether the URL can only name a tree.
func (l location) isPrefix() bool { return l.key == "" || strings.HasSuffix(l.key, "/") }

// prefix is the key prefix of the tree the URL names: "" for the bucket,
// else the key with one trailing "/".
func (l location) prefix() string {
	if l.isPrefix() {
		return l.key
	}
	return l.key + "/"
}

// maxKeyLen is S3's limit on a key, in bytes.
const maxKeyLen = 1024

// parseURL checks an s3://bucket/key URL. Anything it cannot use is
// storage.ErrInvalidURL; a "." or ".." segment in the key is
// storage.ErrUnsafePath, as some servers resolve them.
func parseURL(raw string) (location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		err = redact.URLError(err) // a *url.Error repeats the raw URL
		return location{}, fmt.Errorf("%w: %s: %v", storage.ErrInvalidURL, redact.QuoteURL(raw), err)
	}
	invalid := func(why string) (location, error) {
		return location{}, fmt.Errorf("%w: %s: %s", storage.ErrInvalidURL, redact.QuoteURL(raw), why)
	}
	switch {
	case u.Scheme != "s3":
		return invalid("not an s3:// URL")
	case u.User != nil:
		return invalid("credentials do not belong in a URL: use the AWS credential chain (environment, profile, web identity, instance role)")
	case u.Opaque != "":
		return invalid("want s3://bucket/key")
	case u.Host == "":
		return invalid("no bucket: want s3://bucket/key")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return invalid("an s3 URL takes no query or fragment (percent-encode ? and # in keys)")
	}
	if err := checkBucket(u.Host); err != nil {
		return invalid(err.Error())
	}
	key := strings.TrimPrefix(u.Path, "/")
	if err := checkKey(key); err != nil {
		if errors.Is(err, storage.ErrUnsafePath) {
			return location{}, fmt.Errorf("%s: %w", redact.QuoteURL(raw), err)
		}
		return invalid(err.Error())
	}
	return location{url: raw, bucket: u.Host, key: key}, nil
}

// checkBucket applies S3's bucket naming rules: 3 to 63 lowercase letters,
// digits, dots and hyphens, starting and ending with a letter or digit, no
// "..", not an IP address.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q: want 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && ((c != '.' && c != '-') || i == 0 || i == len(b)-1) {
			if c == ':' {
				return fmt.Errorf("bucket name %q: an s3 URL takes no port", b)
			}
			return fmt.Errorf("bucket name %q: want lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit", b)
		}
	}
	if strings.Contains(b, "..") || net.ParseIP(b) != nil {
		return fmt.Errorf("bucket name %q: not a valid bucket name", b)
	}
	return nil
}

// checkKey refuses keys S3 or a local path could not take safely: over 1024
// bytes, invalid UTF-8, control characters, empty segments ("a//b", a
// leading "/"), and "." or ".." segments (storage.ErrUnsafePath). One
// trailing "/" is allowed: it marks a tree.
func checkKey(key string) error {
	if len(key) > maxKeyLen {
		return fmt.Errorf("key longer than %d bytes", maxKeyLen)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("key is not valid UTF-8")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("control character %q in key", r)
		}
	}
	if key == "" {
		return nil
	}
	for _, seg := range strings.Split(strings.TrimSuffix(key, "/"), "/") {
		switch seg {
		case "":
			return fmt.Errorf("empty segment in key %q", key)
		case ".", "..":
			return fmt.Errorf("%w: %q segment in key %q", storage.ErrUnsafePath, seg, key)
		}
	}
	return nil
}
