package ocistore

import (
	"context"
	"io"

	"github.com/mmbuild/mmbuild/sdk/progress"
)

// meterReader counts what r yields on m and stops at once when ctx is
// cancelled. A blob read again on a retry counts again: m caps the sum at
// the call's total.
func meterReader(ctx context.Context, m *progress.Meter, r io.Reader) io.Reader {
	return &countingReader{r: &ctxReader{ctx: ctx, r: r}, m: m}
}

type countingReader struct {
	r io.Reader
	m *progress.Meter
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.m.Add(int64(n), "")
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
