package s3store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

var _ storage.Lister = (*Store)(nil)

// listPage is how many keys one List call asks the server for: S3's most.
// Tests set Store.listPage lower.
const listPage = 1000

// List describes a page of the objects directly under the folder req.URL
// names (its key as a prefix ending in "/"), with the version a HEAD gives
// each (versionOf): one ListObjectsV2 request per page, against one HEAD
// per object. Sub-folders and directory markers are left out; a page that
// holds only sub-folders is skipped, so a truncated page always names a
// file to start the next after.
func (s *Store) List(ctx context.Context, req *storage.ListRequest) (*storage.ListResponse, error) {
	c, loc, err := s.begin(ctx, req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	if strings.Contains(req.StartAfter, "/") {
		return nil, fmt.Errorf("%s: listing after %q: %w: not a name in the folder", loc.url, req.StartAfter, storage.ErrInvalidURL)
	}
	prefix := loc.prefix()
	in := s.folderListing(loc.bucket, prefix, req.StartAfter)
	resp := &storage.ListResponse{}
	for {
		objs, more, err := s.folderPage(ctx, c, loc.url, prefix, in)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			name := o.key[len(prefix):]
			if name == "" || strings.Contains(name, "/") {
				continue // the folder's marker; a delimiter-less server's deeper keys
			}
			resp.Entries = append(resp.Entries, storage.ListEntry{Name: name, Size: o.size, Version: versionOf(o.etag, o.modTime)})
		}
		if len(resp.Entries) > 0 || !more {
			resp.Truncated = more
			return resp, nil
		}
	}
}

// folderListing asks for what lies directly in the folder prefix (a
// delimiter "/": its sub-folders are not listed), after the name after
// ("" for the start), s.listPage keys a page.
func (s *Store) folderListing(bucket, prefix, after string) *s3.ListObjectsV2Input {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/"), MaxKeys: aws.Int32(s.listPage)}
	if after != "" {
		in.StartAfter = aws.String(prefix + after)
	}
	return in
}

// folderPage sends the ListObjectsV2 request in, holding a metadata token,
// and returns the objects of its page, each checked to lie under prefix.
// It sets in to ask for the next page; more says whether there is one.
func (s *Store) folderPage(ctx context.Context, c *clients, url, prefix string, in *s3.ListObjectsV2Input) (objs []objectInfo, more bool, err error) {
	select {
	case s.meta <- struct{}{}:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	page, err := c.meta.ListObjectsV2(ctx, in)
	<-s.meta
	if err != nil {
		return nil, false, classify(url, "ListObjectsV2", err)
	}
	if objs, err = listedObjects(url, prefix, page.Contents); err != nil {
		return nil, false, err
	}
	if !aws.ToBool(page.IsTruncated) || aws.ToString(page.NextContinuationToken) == "" {
		return objs, false, nil
	}
	in.ContinuationToken, in.StartAfter = page.NextContinuationToken, nil
	return objs, true, nil
}
