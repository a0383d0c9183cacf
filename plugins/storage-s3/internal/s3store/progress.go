package s3store

import (
	"sync"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// progress adds up the bytes of concurrent transfers and reports them in
// order, so DoneBytes never goes down.
type progress struct {
	mu     sync.Mutex
	report func(storage.Progress)
	done   int64
	total  int64
}

func newProgress(report func(storage.Progress), total int64) *progress {
	return &progress{report: report, total: total}
}

func (p *progress) add(n int64, current string) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.total >= 0 && p.done > p.total {
		p.done = p.total
	}
	p.report(storage.Progress{DoneBytes: p.done, TotalBytes: p.total, Current: current})
}

// counter reports one transfer's progress. A retried transfer reports again
// only past the bytes it already reported.
type counter struct {
	p        *progress
	current  string
	reported int64
}

// at says the transfer has moved n bytes in its current attempt.
func (c *counter) at(n int64) {
	if n > c.reported {
		c.p.add(n-c.reported, c.current)
		c.reported = n
	}
}
