package ocistore

import (
	"context"
	"io"
	"sync"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// progress adds up the bytes a call moves, from any number of blobs at
// once, and reports them: never going back, never above the total (a blob
// read again on a retry counts once).
type progress struct {
	report func(storage.Progress)
	total  int64

	mu    sync.Mutex
	moved int64
	shown int64
}

func newProgress(report func(storage.Progress), total int64) *progress {
	return &progress{report: report, total: total}
}

func (p *progress) add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.moved += n
	done := min(p.moved, p.total)
	if done <= p.shown && n > 0 {
		return
	}
	p.shown = done
	p.report(storage.Progress{DoneBytes: done, TotalBytes: p.total})
}

// reader counts what r yields and stops at once when ctx is cancelled.
func (p *progress) reader(ctx context.Context, r io.Reader) io.Reader {
	return &countingReader{r: &ctxReader{ctx: ctx, r: r}, p: p}
}

type countingReader struct {
	r io.Reader
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.p.add(int64(n))
	}
	return n, err
}

// ctxReader stops reading once ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
