package s3store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
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
	p := progress.NewMeter(req.Report, fi.Size())
	if err := s.upload(ctx, c, loc.url, loc.bucket, loc.key, f, fi.Size(), fi.Mode(), p); err != nil {
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

// upload stores size bytes of f as the object key, with the file mode in its
// metadata. Readers never see a partial object: one PUT is atomic, and a
// multipart upload is invisible until completed, and aborted on any error.
// Every request carries the SHA-256 of its body, which the server checks
// for the signature, and its CRC32C, which the server stores (a composite
// one for a multipart upload) and reports back to be compared. Get checks
// the stored CRC32C: hardware-accelerated, it keeps up with the transfer
// where SHA-256 does not; transfer integrity is all it is for.
func (s *Store) upload(ctx context.Context, c *s3.Client, url, bucket, key string, f *os.File, size int64, mode fs.FileMode, p *progress.Meter) error {
	if size <= s.opts.partSize {
		return s.putSingle(ctx, c, url, bucket, key, f, size, mode, p)
	}
	return s.putMultipart(ctx, c, url, bucket, key, f, size, mode, p)
}

func (s *Store) putSingle(ctx context.Context, c *s3.Client, url, bucket, key string, f *os.File, size int64, mode fs.FileMode, p *progress.Meter) error {
	buf, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.release(buf)
	sum, crc, err := hashSection(ctx, f, 0, size, buf)
	if err != nil {
		return fmt.Errorf("%s: reading source: %w", url, err)
	}
	out, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:         aws.String(bucket),
		Key:            aws.String(key),
		Body:           &sendReader{r: io.NewSectionReader(f, 0, size), cnt: p.Transfer(key)},
		ContentLength:  aws.Int64(size),
		ChecksumCRC32C: aws.String(b64(crc)),
		Metadata:       metadataFor(mode),
	}, withPayloadHash(sum))
	if err != nil {
		return classify(url, "PutObject", err)
	}
	if got := aws.ToString(out.ChecksumCRC32C); got != "" && got != b64(crc) {
		return s.discard(c, url, bucket, key, fmt.Errorf("%s: the server stored CRC32C %s, the source has %s", url, got, b64(crc)))
	}
	return nil
}

func (s *Store) putMultipart(ctx context.Context, c *s3.Client, url, bucket, key string, f *os.File, size int64, mode fs.FileMode, p *progress.Meter) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	created, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:            aws.String(bucket),
		Key:               aws.String(key),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
		ChecksumType:      types.ChecksumTypeComposite,
		Metadata:          metadataFor(mode),
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

	ps := s.partSizeFor(size)
	n := (size + ps - 1) / ps
	parts := make([]types.CompletedPart, n)
	digests := make([][]byte, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.concurrency)
	for i := range n {
		g.Go(func() error {
			buf, err := s.acquire(gctx)
			if err != nil {
				return err
			}
			defer s.release(buf)
			off := i * ps
			length := min(ps, size-off)
			sum, crc, err := hashSection(gctx, f, off, length, buf)
			if err != nil {
				return fmt.Errorf("%s: reading source: %w", url, err)
			}
			num := aws.Int32(int32(i + 1))
			out, err := c.UploadPart(gctx, &s3.UploadPartInput{
				Bucket:         aws.String(bucket),
				Key:            aws.String(key),
				UploadId:       uploadID,
				PartNumber:     num,
				Body:           &sendReader{r: io.NewSectionReader(f, off, length), cnt: p.Transfer(key)},
				ContentLength:  aws.Int64(length),
				ChecksumCRC32C: aws.String(b64(crc)),
			}, withPayloadHash(sum))
			if err != nil {
				return classify(url, fmt.Sprintf("UploadPart %d", i+1), err)
			}
			if got := aws.ToString(out.ChecksumCRC32C); got != "" && got != b64(crc) {
				return fmt.Errorf("%s: part %d: the server stored CRC32C %s, the source has %s", url, i+1, got, b64(crc))
			}
			parts[i] = types.CompletedPart{PartNumber: num, ETag: out.ETag, ChecksumCRC32C: aws.String(b64(crc))}
			digests[i] = crc
			return nil
		})
	}
	if err := g.Wait(); err != nil {
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
	want := compositeOf("CRC32C", digests)
	got := checksumOf(out.ChecksumType, nil, nil, nil, out.ChecksumCRC32C, nil)
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

// hashSection returns the SHA-256 and the CRC32C of length bytes of f at
// off, read once.
func hashSection(ctx context.Context, f *os.File, off, length int64, buf []byte) (sum, crc []byte, err error) {
	h := sha256.New()
	c := crc32.New(castagnoli)
	r := io.NewSectionReader(f, off, length)
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		n, err := r.Read(buf)
		h.Write(buf[:n])
		c.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return h.Sum(nil), c.Sum(nil), nil
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
