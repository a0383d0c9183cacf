package s3store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/sync/errgroup"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/redact"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// cleanupTimeout bounds the requests that clean up after a failed upload.
// They run on a fresh context: the caller's may be the one cancelled.
const cleanupTimeout = 30 * time.Second

// putFile uploads the file at req.SourcePath to the object loc names.
func (s *Store) putFile(ctx context.Context, c *s3.Client, loc location, req *storage.PutRequest) (*storage.PutResponse, error) {
	if loc.isPrefix() {
		return nil, fmt.Errorf("%w: %s: a file needs an object key, not a prefix ending in \"/\"", storage.ErrInvalidURL, redact.QuoteURL(loc.url))
	}
	f, err := os.Open(req.SourcePath)
	if err != nil {
		return nil, fmt.Errorf("reading source: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading source: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading source %s: not a regular file: %w", req.SourcePath, storage.ErrUnsafePath)
	}
	sum, err := coreDigest(req.Digest)
	if err != nil {
		return nil, err
	}
	p := progress.NewMeter(req.Report, fi.Size())
	if err := s.upload(ctx, c, loc.url, loc.bucket, loc.key, f, fi.Size(), fi.Mode(), sum, p); err != nil {
		return nil, err
	}
	plugin.Logger().Debug("put", "url", loc.url, "bytes", fi.Size())
	return &storage.PutResponse{Bytes: fi.Size(), Files: 1}, nil
}

// partSizeFor is the part size for an object of size bytes: the configured
// one, or larger when S3's 10,000 parts would not hold the object.
func (s *Store) partSizeFor(size int64) int64 {
	ps := s.opts.partSize
	if (size+ps-1)/ps > maxParts {
		ps = (size + maxParts - 1) / maxParts
		ps = (ps + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return ps
}

// coreDigest decodes a PutRequest's digest, "sha256:<hex>"; nil for none.
func coreDigest(d string) ([]byte, error) {
	if d == "" {
		return nil, nil
	}
	h, ok := strings.CutPrefix(d, "sha256:")
	sum, err := hex.DecodeString(h)
	if !ok || err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("the digest given with the source is %q, want sha256:<64 hex digits>", d)
	}
	return sum, nil
}

// upload stores size bytes of f as the object key, with the file mode in its
// metadata. Readers never see a partial object: one PUT is atomic, and a
// multipart upload is invisible until completed, and aborted on any error.
//
// The server keeps a SHA-256 checksum of every object, which Stat reports
// as its content digest: a single PUT carries sum (the core's digest of
// the file; computed here when nil) as the body's payload hash and as its
// checksum, so the server refuses bytes that do not match it and keeps it
// as the object's full-object checksum. A multipart upload's checksum is
// composite (the SHA-256 of its parts' SHA-256s): it is computed here,
// before the upload starts, and recorded in the object's metadata beside
// sum, so a later reader compares the server's checksum with the recorded
// one and takes sum only when they match.
func (s *Store) upload(ctx context.Context, c *s3.Client, url, bucket, key string, f *os.File, size int64, mode fs.FileMode, sum []byte, p *progress.Meter) error {
	s.forget(bucket, key) // whatever this upload leaves, it is not the object put before
	if size <= s.opts.partSize {
		return s.putSingle(ctx, c, url, bucket, key, f, size, mode, sum, p)
	}
	return s.putMultipart(ctx, c, url, bucket, key, f, size, mode, sum, p)
}

func (s *Store) putSingle(ctx context.Context, c *s3.Client, url, bucket, key string, f *os.File, size int64, mode fs.FileMode, sum []byte, p *progress.Meter) error {
	buf, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.release(buf)
	if sum == nil {
		// No digest from the core (a file of a tree): read once to hash.
		if sum, err = hashSection(ctx, f, 0, size, buf); err != nil {
			return fmt.Errorf("%s: reading source: %w", url, err)
		}
	}
	out, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:         aws.String(bucket),
		Key:            aws.String(key),
		Body:           &sendReader{r: io.NewSectionReader(f, 0, size), cnt: p.Transfer(key)},
		ContentLength:  aws.Int64(size),
		ChecksumSHA256: aws.String(b64(sum)),
		Metadata:       metadataFor(mode),
	}, withPayloadHash(sum))
	if err != nil {
		return classify(url, "PutObject", err)
	}
	got := aws.ToString(out.ChecksumSHA256)
	if got != "" && got != b64(sum) {
		return s.discard(c, url, bucket, key, fmt.Errorf("%s: the server stored SHA-256 %s, the source has %s", url, got, b64(sum)))
	}
	if etag := aws.ToString(out.ETag); got != "" && etag != "" {
		s.remember(bucket, key, putRecord{etag: etag, digest: "sha256:" + hex.EncodeToString(sum), size: size})
	}
	return nil
}

// hashParts returns the SHA-256 of each part of f, n parts of ps bytes
// (the last shorter), computed a few at a time.
func (s *Store) hashParts(ctx context.Context, url string, f *os.File, size, ps, n int64) ([][]byte, error) {
	digests := make([][]byte, n)
	err := s.eachPart(ctx, n, func(ctx context.Context, i int64, buf []byte) error {
		off := i * ps
		sum, err := hashSection(ctx, f, off, min(ps, size-off), buf)
		if err != nil {
			return fmt.Errorf("%s: reading source: %w", url, err)
		}
		digests[i] = sum
		return nil
	})
	return digests, err
}

// eachPart calls fn for parts 0 to n-1, s.opts.concurrency at a time, each
// with a transfer slot's buffer; the first error cancels the rest.
func (s *Store) eachPart(ctx context.Context, n int64, fn func(ctx context.Context, i int64, buf []byte) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.concurrency)
	for i := range n {
		g.Go(func() error {
			buf, err := s.acquire(gctx)
			if err != nil {
				return err
			}
			defer s.release(buf)
			return fn(gctx, i, buf)
		})
	}
	return g.Wait()
}

func (s *Store) putMultipart(ctx context.Context, c *s3.Client, url, bucket, key string, f *os.File, size int64, mode fs.FileMode, sum []byte, p *progress.Meter) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ps := s.partSizeFor(size)
	n := (size + ps - 1) / ps
	digests, err := s.hashParts(ctx, url, f, size, ps, n)
	if err != nil {
		return err
	}
	want := compositeOf("SHA256", digests)
	md := metadataFor(mode)
	if sum != nil {
		md[metaSHA256] = hex.EncodeToString(sum)
		md[metaChecksum] = want.value + "-" + strconv.Itoa(want.parts)
	}
	created, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:            aws.String(bucket),
		Key:               aws.String(key),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumType:      types.ChecksumTypeComposite,
		Metadata:          md,
	})
	if err != nil {
		return classify(url, "CreateMultipartUpload", err)
	}
	uploadID := created.UploadId
	abort := func(cause error) error {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_, err := c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: uploadID})
		if err != nil {
			plugin.Logger().Warn("could not abort a failed multipart upload; a bucket lifecycle rule can remove it",
				"url", url, "upload_id", aws.ToString(uploadID), "error", err)
		}
		return cause
	}

	parts := make([]types.CompletedPart, n)
	// A part's slot bounds the data in flight, as for every transfer.
	err = s.eachPart(ctx, n, func(ctx context.Context, i int64, _ []byte) error {
		off := i * ps
		length := min(ps, size-off)
		sum := digests[i]
		num := aws.Int32(int32(i + 1))
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{
			Bucket:         aws.String(bucket),
			Key:            aws.String(key),
			UploadId:       uploadID,
			PartNumber:     num,
			Body:           &sendReader{r: io.NewSectionReader(f, off, length), cnt: p.Transfer(key)},
			ContentLength:  aws.Int64(length),
			ChecksumSHA256: aws.String(b64(sum)),
		}, withPayloadHash(sum))
		if err != nil {
			return classify(url, fmt.Sprintf("UploadPart %d", i+1), err)
		}
		if got := aws.ToString(out.ChecksumSHA256); got != "" && got != b64(sum) {
			return fmt.Errorf("%s: part %d: the server stored SHA-256 %s, the source has %s", url, i+1, got, b64(sum))
		}
		parts[i] = types.CompletedPart{PartNumber: num, ETag: out.ETag, ChecksumSHA256: aws.String(b64(sum))}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%s: %w", url, ctx.Err())
		}
		return abort(err)
	}
	if err := ctx.Err(); err != nil {
		return abort(fmt.Errorf("%s: %w", url, err))
	}
	out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(bucket),
		Key:             aws.String(key),
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return abort(classify(url, "CompleteMultipartUpload", err))
	}
	got := checksumOf(out.ChecksumType, out.ChecksumSHA256, nil, nil, nil, nil)
	if got.parts > 0 && got != want {
		return s.discard(c, url, bucket, key, fmt.Errorf("%s: the server stored %s, the source gives %s", url, got, want))
	}
	return nil
}

// discard deletes an object that failed its check after it was stored, and
// returns cause.
func (s *Store) discard(c *s3.Client, url, bucket, key string, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		return errors.Join(cause, fmt.Errorf("%s: removing the bad object: %w", url, classify(url, "DeleteObject", err)))
	}
	return cause
}

// hashSection returns the SHA-256 of length bytes of f at off.
func hashSection(ctx context.Context, f *os.File, off, length int64, buf []byte) ([]byte, error) {
	h := sha256.New()
	r := io.NewSectionReader(f, off, length)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := r.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return h.Sum(nil), nil
}

// withPayloadHash hands the SDK the body's SHA-256, computed once by the
// caller: the SDK would otherwise read the body once more to sign it.
func withPayloadHash(sum []byte) func(*s3.Options) {
	hexSum := hex.EncodeToString(sum)
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("mmbuildPayloadHash",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					return next.HandleFinalize(v4.SetPayloadHash(ctx, hexSum), in)
				}), "ComputePayloadHash", middleware.Before)
		})
	}
}

// sendReader is a request body read from a file section. It reports as
// progress the furthest point read, so a retried request counts once.
type sendReader struct {
	r   *io.SectionReader
	pos int64
	cnt *progress.Transfer
}

func (s *sendReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	s.pos += int64(n)
	s.cnt.At(s.pos)
	return n, err
}

func (s *sendReader) Seek(off int64, whence int) (int64, error) {
	n, err := s.r.Seek(off, whence)
	if err == nil {
		s.pos = n
	}
	return n, err
}
