package httpstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// errIdle is the cause of an attempt cancelled for moving no byte during
// read_timeout.
var errIdle = errors.New("no data within read_timeout")

// errSlow is the cause of an attempt cancelled for moving fewer bytes in a
// read_timeout window than min_speed asks for.
var errSlow = errors.New("fewer bytes than min_speed within read_timeout")

// idleTimer cancels an attempt with errIdle when touch is not called for d,
// and with errSlow when a window of d moves fewer than minBytes: a server
// that trickles a byte now and then keeps no transfer alive forever.
type idleTimer struct {
	d        time.Duration
	t        *time.Timer
	moved    atomic.Int64
	minBytes int64
	done     chan struct{} // closed by stop: ends the window watch
	once     sync.Once
}

// startIdle starts the timers of one attempt; minSpeed is in bytes per
// second (0: no minimum).
func startIdle(d time.Duration, minSpeed int64, cancel context.CancelCauseFunc) *idleTimer {
	i := &idleTimer{d: d, t: time.AfterFunc(d, func() { cancel(errIdle) }), minBytes: int64(float64(minSpeed) * d.Seconds()), done: make(chan struct{})}
	if i.minBytes > 0 {
		go func() {
			tick := time.NewTicker(d)
			defer tick.Stop()
			for {
				select {
				case <-i.done:
					return
				case <-tick.C:
					if i.moved.Swap(0) < i.minBytes {
						cancel(errSlow)
						return
					}
				}
			}
		}()
	}
	return i
}

// touch says n bytes moved.
func (i *idleTimer) touch(n int) {
	i.moved.Add(int64(n))
	i.t.Reset(i.d)
}

func (i *idleTimer) stop() {
	i.t.Stop()
	i.once.Do(func() { close(i.done) })
}

// timeoutErr says why an attempt cancelled by an idleTimer ended (nil for
// any other cause); what names the transfer.
func (c *config) timeoutErr(cause error, what string) error {
	switch {
	case errors.Is(cause, errIdle):
		return retryable(fmt.Errorf("timeout: %s moved no data for %s (option read_timeout or %s)", what, c.readTimeout, envReadTimeout))
	case errors.Is(cause, errSlow):
		return retryable(fmt.Errorf("timeout: %s moved less than %d bytes/s over %s (option min_speed or %s, read_timeout or %s)", what, c.minSpeed, c.readTimeout, envMinSpeed, envReadTimeout))
	}
	return nil
}
