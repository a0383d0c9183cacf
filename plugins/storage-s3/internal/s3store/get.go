package s3store

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// attempts bounds the tries of one download: the SDK retries a request
// until its response starts, this retries a body that broke off.
const attempts = 3

// getFile downloads obj to dest, a file it creates; on error it leaves
// nothing there.
func (s *Store) getFile(ctx context.Context, c *s3.Client, bucket string, obj objectInfo, dest string, p *progress) error {
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = s.download(ctx, c, bucket, obj, f, p)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dest)
		return err
	}
	return nil
}

// objectURL names an object in messages.
func objectURL(bucket, key string) string { return "s3://" + bucket + "/" + key }

// download writes obj into f, an empty file, and checks what it wrote:
// always the size, and the server's checksum where it has one that can be
// checked:
//   - an object of up to one part comes in one request, whose full-object
//     checksum the SDK checks as it streams;
//   - a larger object comes in ranges fetched in parallel and written in
//     place. With a composite checksum, the ranges follow the object's own
//     parts and each is hashed on the way, then the composite compared;
//     with a full-object checksum, the file is read back once and compared.
//
// Every request carries If-Match with the object's ETag, so an object
// replaced during the transfer fails it instead of mixing two versions.
func (s *Store) download(ctx context.Context, c *s3.Client, bucket string, obj objectInfo, f *os.File, p *progress) error {
	url := objectURL(bucket, obj.key)
	if obj.size > s.opts.partSize && !obj.head {
		head, err := headObject(ctx, c, url, bucket, obj.key)
		if err != nil {
			return err
		}
		if obj.etag != "" && head.etag != obj.etag {
			return fmt.Errorf("%s: the object changed while it was listed (ETag %s, now %s)", url, obj.etag, head.etag)
		}
		obj = head
	}
	if obj.size <= s.opts.partSize {
		mode, err := s.fetchWhole(ctx, c, url, bucket, obj, f, p)
		if err != nil {
			return err
		}
		return f.Chmod(mode | 0o400)
	}

	if err := f.Truncate(obj.size); err != nil {
		return err
	}
	sum := obj.checksum
	if sum.parts > 0 {
		if partSize, ok := partLayout(ctx, c, bucket, obj); ok {
			digests, err := s.fetchRanges(ctx, c, url, bucket, obj, f, p, partSize, sum)
			if err != nil {
				return err
			}
			if got := compositeOf(sum.algo, digests); got != sum {
				return fmt.Errorf("%s: checksum mismatch: the server has %s, the bytes received give %s", url, sum, got)
			}
			return f.Chmod(obj.mode | 0o400)
		}
		plugin.Logger().Debug("parts of unequal size: checking the size only", "url", url)
	}
	if _, err := s.fetchRanges(ctx, c, url, bucket, obj, f, p, s.opts.partSize, checksum{}); err != nil {
		return err
	}
	if sum.algo != "" && sum.parts == 0 {
		buf, err := s.acquire(ctx)
		if err != nil {
			return err
		}
		err = verifyFile(f, obj.size, sum, buf)
		s.release(buf)
		if err != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
	}
	return f.Chmod(obj.mode | 0o400)
}

// partLayout finds the part size of a multipart object whose parts all have
// one size but the last, as uploaders make them; ok is false otherwise.
func partLayout(ctx context.Context, c *s3.Client, bucket string, obj objectInfo) (int64, bool) {
	in := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(obj.key), PartNumber: aws.Int32(1)}
	if obj.etag != "" {
		in.IfMatch = aws.String(obj.etag)
	}
	out, err := c.HeadObject(ctx, in)
	if err != nil {
		return 0, false
	}
	size, n := aws.ToInt64(out.ContentLength), int64(obj.checksum.parts)
	if pc := aws.ToInt32(out.PartsCount); pc != 0 && int64(pc) != n {
		return 0, false
	}
	return size, size > 0 && (n-1)*size < obj.size && obj.size <= n*size
}

// fetchWhole downloads an object in one request and returns the file mode
// its metadata keeps.
func (s *Store) fetchWhole(ctx context.Context, c *s3.Client, url, bucket string, obj objectInfo, f *os.File, p *progress) (os.FileMode, error) {
	buf, err := s.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer s.release(buf)
	cnt := &counter{p: p, current: obj.key}
	for attempt := 1; ; attempt++ {
		in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(obj.key), ChecksumMode: types.ChecksumModeEnabled}
		if obj.etag != "" {
			in.IfMatch = aws.String(obj.etag)
		}
		out, err := c.GetObject(ctx, in)
		if err != nil {
			return 0, classify(url, "GetObject", err)
		}
		want := aws.ToInt64(out.ContentLength)
		n, err := copyAt(ctx, f, 0, out.Body, buf, cnt, nil)
		out.Body.Close()
		if err == nil && (n != want || n != obj.size) {
			err = fmt.Errorf("received %d bytes, want %d", n, obj.size)
		}
		if err == nil {
			return modeFromMetadata(out.Metadata), nil
		}
		if err := retryable(ctx, err, attempt); err != nil {
			return 0, fmt.Errorf("%s: GetObject: %w", url, err)
		}
		plugin.Logger().Debug("retrying a broken download", "url", url, "error", err)
	}
}

// fetchRanges downloads obj into f in ranges of partSize, in parallel.
// With a checksum algorithm, it returns each range's digest.
func (s *Store) fetchRanges(ctx context.Context, c *s3.Client, url, bucket string, obj objectInfo, f *os.File, p *progress, partSize int64, sum checksum) ([][]byte, error) {
	n := (obj.size + partSize - 1) / partSize
	digests := make([][]byte, n)
	err := s.eachPart(ctx, n, func(ctx context.Context, i int64, buf []byte) error {
		off := i * partSize
		d, err := fetchRange(ctx, c, url, bucket, obj, f, off, min(partSize, obj.size-off), buf, &counter{p: p, current: obj.key}, sum)
		digests[i] = d
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", url, ctx.Err())
		}
		return nil, err
	}
	return digests, nil
}

// fetchRange downloads length bytes at off into f, hashing them with sum's
// algorithm when it has one.
func fetchRange(ctx context.Context, c *s3.Client, url, bucket string, obj objectInfo, f *os.File, off, length int64, buf []byte, cnt *counter, sum checksum) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		in := &s3.GetObjectInput{
			Bucket: aws.String(bucket),
			Key:    aws.String(obj.key),
			Range:  aws.String(fmt.Sprintf("bytes=%d-%d", off, off+length-1)),
		}
		if obj.etag != "" {
			in.IfMatch = aws.String(obj.etag)
		}
		out, err := c.GetObject(ctx, in)
		if err != nil {
			return nil, classify(url, "GetObject", err)
		}
		if got := aws.ToInt64(out.ContentLength); got != length {
			out.Body.Close()
			return nil, fmt.Errorf("%s: GetObject of range %d-%d: the server sent %d bytes", url, off, off+length-1, got)
		}
		h := sum.newHash()
		n, err := copyAt(ctx, f, off, out.Body, buf, cnt, h)
		out.Body.Close()
		if err == nil && n != length {
			err = fmt.Errorf("received %d bytes of range %d-%d", n, off, off+length-1)
		}
		if err == nil {
			if h == nil {
				return nil, nil
			}
			return h.Sum(nil), nil
		}
		if err := retryable(ctx, err, attempt); err != nil {
			return nil, fmt.Errorf("%s: GetObject: %w", url, err)
		}
		plugin.Logger().Debug("retrying a broken range", "url", url, "offset", off, "error", err)
	}
}

// retryable returns nil when a download that failed with err may be tried
// again, else the error to return.
func retryable(ctx context.Context, err error, attempt int) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var pe *os.PathError
	if attempt >= attempts || errors.As(err, &pe) {
		return err
	}
	return nil
}

// copyAt copies body to f at off in steps of len(buf), hashing into h when
// set, and reports progress through cnt. Cancelling ctx stops it.
func copyAt(ctx context.Context, f *os.File, off int64, body io.Reader, buf []byte, cnt *counter, h hash.Hash) (int64, error) {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := io.ReadFull(body, buf)
		if m > 0 {
			if _, werr := f.WriteAt(buf[:m], off+n); werr != nil {
				return n, werr
			}
			if h != nil {
				h.Write(buf[:m])
			}
			n += int64(m)
			cnt.at(n)
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return n, nil // the caller checks the size
		case err != nil:
			return n, err
		}
	}
}
