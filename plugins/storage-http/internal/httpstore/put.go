package httpstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/redact"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Put uploads the file at req.SourcePath with one PUT, retried like a Get.
func (s *Store) Put(ctx context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	t, err := s.prepare(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(req.SourcePath)
	if err != nil {
		// %v: a missing source is not a missing object.
		return nil, fmt.Errorf("reading the source: %v", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file: http storage holds single objects: %w", req.SourcePath, errors.ErrUnsupported)
	}
	size := fi.Size()
	moved := progress.NewMeter(req.Report, size).Transfer("") // every attempt reads from 0
	err = s.retry(ctx, http.MethodPut, t.u, func(ctx context.Context) error {
		actx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		idle := startIdle(t.cfg.readTimeout, t.cfg.minSpeed, cancel)
		defer idle.stop()
		open := func() (io.ReadCloser, int64, error) {
			f, err := os.Open(req.SourcePath)
			if err != nil {
				return nil, 0, fmt.Errorf("reading the source: %v", err)
			}
			if fi, err := f.Stat(); err != nil || fi.Size() != size {
				f.Close()
				return nil, 0, fmt.Errorf("the source %s changed during the upload", req.SourcePath)
			}
			return &uploadBody{f: f, idle: idle, moved: moved, total: size}, size, nil
		}
		resp, err := s.do(actx, t.hc, &call{method: http.MethodPut, url: t.u, body: open, cfg: t.cfg})
		if err != nil {
			if terr := t.cfg.timeoutErr(context.Cause(actx), "the upload"); terr != nil && ctx.Err() == nil {
				return terr
			}
			return err
		}
		drainClose(resp)
		if resp.StatusCode/100 == 2 {
			return nil
		}
		return statusErr(http.MethodPut, resp)
	})
	if err != nil {
		return nil, err
	}
	plugin.Logger().Debug("put", "url", redact.URL(t.u.String()), "bytes", size)
	return &storage.PutResponse{Bytes: size, Files: 1}, nil
}

// uploadBody is the file as the transport reads it: it keeps the idle timer
// from firing while bytes move, and reports progress.
type uploadBody struct {
	f     *os.File
	idle  *idleTimer
	moved *progress.Transfer
	total int64
	read  int64
}

func (b *uploadBody) Read(p []byte) (int, error) {
	n, err := b.f.Read(p)
	if n > 0 {
		b.idle.touch(n)
		b.read += int64(n)
		b.moved.At(b.read) // the meter caps it at total: a grown file is refused by the transport
	}
	if err == io.EOF {
		// The body is sent: the response-header timeout takes over.
		b.idle.stop()
	}
	return n, err
}

func (b *uploadBody) Close() error { return b.f.Close() }
