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
	in := &s3.ListObjectsV2Input{Bucket: aws.String(loc.bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/"), MaxKeys: aws.Int32(s.listPage)}
	if req.StartAfter != "" {
		in.StartAfter = aws.String(prefix + req.StartAfter)
	}
	select {
	case s.meta <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.meta }()
	resp := &storage.ListResponse{}
	for {
		page, err := c.meta.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, classify(loc.url, "ListObjectsV2", err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			name, ok := strings.CutPrefix(k, prefix)
			if !ok {
				return nil, fmt.Errorf("%s: the server listed key %q outside prefix %q", loc.url, k, prefix)
			}
			if name == "" || strings.Contains(name, "/") {
				continue // the folder's marker; a delimiter-less server's deeper keys
			}
			resp.Entries = append(resp.Entries, storage.ListEntry{Name: name, Size: aws.ToInt64(o.Size),
				Version: versionOf(aws.ToString(o.ETag), aws.ToTime(o.LastModified))})
		}
		resp.Truncated = aws.ToBool(page.IsTruncated)
		if len(resp.Entries) > 0 || !resp.Truncated || aws.ToString(page.NextContinuationToken) == "" {
			if aws.ToString(page.NextContinuationToken) == "" {
				resp.Truncated = false
			}
			return resp, nil
		}
		in.ContinuationToken, in.StartAfter = page.NextContinuationToken, nil
	}
}
