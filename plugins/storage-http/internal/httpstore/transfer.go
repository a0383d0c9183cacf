package httpstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// errIdle is the cause of an attempt cancelled for moving no byte during
// read_timeout.
var errIdle = errors.New("no data within read_timeout")

// idleTimer cancels an attempt with errIdle when touch is not called for d.
type idleTimer struct {
	d time.Duration
	t *time.Timer
}

func startIdle(d time.Duration, cancel context.CancelCauseFunc) *idleTimer {
	return &idleTimer{d: d, t: time.AfterFunc(d, func() { cancel(errIdle) })}
}

// touch says bytes moved.
func (i *idleTimer) touch() { i.t.Reset(i.d) }

func (i *idleTimer) stop() { i.t.Stop() }

// progress reports a transfer's bytes, never going back, even when a
// transfer starts over.
type progress struct {
	mu     sync.Mutex
	report func(storage.Progress)
	max    int64
}

func (p *progress) update(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if done <= p.max {
		return
	}
	p.max = done
	p.report(storage.Progress{DoneBytes: done, TotalBytes: total})
}
