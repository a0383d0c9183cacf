package s3store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// objectInfo is what a listing or a HEAD says about one object.
type objectInfo struct {
	key     string
	size    int64
	modTime time.Time
	etag    string
	// From a HEAD only (head is true): the file mode kept in the object's
	// metadata and the server's checksum.
	head     bool
	mode     fs.FileMode
	checksum checksum
	// digest is the content digest the object's checksum vouches for,
	// "sha256:<hex>", or "" (see contentDigest).
	digest string
}

// target is what a URL names: one object, or a tree of objects.
type target struct {
	dir     bool
	object  objectInfo   // !dir
	prefix  string       // dir: the key prefix of the tree
	objects []objectInfo // dir: every object under prefix, directory markers left out
}

// resolve finds what loc names. A key not ending in "/" is an object when
// one has that key, else the tree under key+"/". A tree exists when at least
// one key lies under its prefix; the bucket itself always does.
func resolve(ctx context.Context, c *s3.Client, loc location) (*target, error) {
	if !loc.isPrefix() {
		obj, err := headObject(ctx, c, loc.url, loc.bucket, loc.key)
		if err == nil {
			return &target{object: obj}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	prefix := loc.prefix()
	objects, found, err := list(ctx, c, loc.url, loc.bucket, prefix, 0)
	if err != nil {
		return nil, err
	}
	if !found && prefix != "" {
		return nil, fmt.Errorf("%s: %w: no object has this key or lies under it", loc.url, fs.ErrNotExist)
	}
	return &target{dir: true, prefix: prefix, objects: objects}, nil
}

// headObject describes one object, with its checksum and metadata.
func headObject(ctx context.Context, c *s3.Client, url, bucket, key string) (objectInfo, error) {
	out, err := c.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket:       aws.String(bucket),
		Key:          aws.String(key),
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return objectInfo{}, classify(url, "HeadObject", err)
	}
	sum := checksumOf(out.ChecksumType, out.ChecksumSHA256, out.ChecksumSHA1, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME)
	return objectInfo{
		key:      key,
		size:     aws.ToInt64(out.ContentLength),
		modTime:  aws.ToTime(out.LastModified),
		etag:     aws.ToString(out.ETag),
		head:     true,
		mode:     modeFromMetadata(out.Metadata),
		checksum: sum,
		digest:   contentDigest(sum, out.Metadata),
	}, nil
}

// versionOf is the version token of an object (storage.StatResponse's
// Version): its ETag and its modification time, to the second, as a HEAD
// and a listing both give them. Writing an object again changes its
// modification time, and its ETag unless the bytes are the same: an
// object listed with the token a HEAD gave is the object that HEAD
// described. "" without an ETag.
func versionOf(etag string, modTime time.Time) string {
	if etag == "" || modTime.IsZero() {
		return ""
	}
	return etag + "@" + modTime.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// The user metadata keys (x-amz-meta-…) a multipart upload records: the
// core's SHA-256 of the whole object, and the composite checksum computed
// from the same bytes before the upload.
const (
	metaSHA256   = "mmbuild-sha256"
	metaChecksum = "mmbuild-checksum"
)

// contentDigest is the object's SHA-256, "sha256:<hex>", as far as the
// server vouches for it: its full-object SHA-256 checksum (verified by the
// server against the bytes it received); or, for a composite checksum, the
// SHA-256 recorded beside the composite computed at upload, when that
// composite is the server's own, checksum to checksum. Anything else
// ("" ): the object is checked by downloading it.
func contentDigest(c checksum, md map[string]string) string {
	if c.algo != "SHA256" {
		return ""
	}
	if c.parts == 0 {
		raw, err := base64.StdEncoding.DecodeString(c.value)
		if err != nil || len(raw) != sha256.Size {
			return ""
		}
		return "sha256:" + hex.EncodeToString(raw)
	}
	recorded, sum := metaValue(md, metaChecksum), metaValue(md, metaSHA256)
	if recorded == "" || recorded != c.value+"-"+strconv.Itoa(c.parts) {
		return ""
	}
	if raw, err := hex.DecodeString(sum); err != nil || len(raw) != sha256.Size || strings.ToLower(sum) != sum {
		return ""
	}
	return "sha256:" + sum
}

// metaValue is the user metadata value of key, whatever case the server
// gives keys in.
func metaValue(md map[string]string, key string) string {
	for k, v := range md {
		if strings.EqualFold(k, key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// list returns the objects under prefix, without directory markers (keys
// ending in "/"), and whether any key at all lies there. limit > 0 stops
// after that many keys.
func list(ctx context.Context, c *s3.Client, url, bucket, prefix string, limit int32) ([]objectInfo, bool, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if limit > 0 {
		in.MaxKeys = aws.Int32(limit)
	}
	var objects []objectInfo
	found := false
	pages := s3.NewListObjectsV2Paginator(c, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, false, classify(url, "ListObjectsV2", err)
		}
		listed, err := listedObjects(url, prefix, page.Contents)
		if err != nil {
			return nil, false, err
		}
		for _, obj := range listed {
			found = true
			if !strings.HasSuffix(obj.key, "/") {
				objects = append(objects, obj)
			}
		}
		if limit > 0 {
			break
		}
	}
	return objects, found, nil
}

// listedObjects is what a page of a listing under prefix says of its
// objects. A key outside prefix is an error: the server answered another
// question.
func listedObjects(url, prefix string, contents []types.Object) ([]objectInfo, error) {
	objs := make([]objectInfo, 0, len(contents))
	for _, o := range contents {
		k := aws.ToString(o.Key)
		if !strings.HasPrefix(k, prefix) {
			return nil, fmt.Errorf("%s: the server listed key %q outside prefix %q", url, k, prefix)
		}
		objs = append(objs, objectInfo{key: k, size: aws.ToInt64(o.Size), modTime: aws.ToTime(o.LastModified), etag: aws.ToString(o.ETag)})
	}
	return objs, nil
}

// metaMode is the user metadata key (x-amz-meta-mode) that keeps a file's
// permission bits, in octal: S3 has no file modes.
const metaMode = "mode"

// modeFromMetadata reads the permission bits kept by Put; 0644 when absent
// or not understood. Only the 0777 bits are taken, never setuid and the like.
func modeFromMetadata(md map[string]string) fs.FileMode {
	if m, err := strconv.ParseUint(metaValue(md, metaMode), 8, 32); err == nil {
		return fs.FileMode(m) & fs.ModePerm
	}
	return 0o644
}

// metadataFor is the metadata Put stores for a file of mode m.
func metadataFor(m fs.FileMode) map[string]string {
	return map[string]string{metaMode: fmt.Sprintf("%04o", m.Perm())}
}
