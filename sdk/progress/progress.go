// Package progress adds up the bytes a storage call moves and reports
// them so that DoneBytes never goes down and never passes a known total,
// as the host (and sdktest) expect, however many transfers run at once
// and however often one starts over.
package progress

import (
	"sync"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Meter adds up the bytes of one call. It is safe for concurrent use.
type Meter struct {
	report func(storage.Progress)

	mu    sync.Mutex
	total int64 // -1 when unknown
	done  int64 // bytes counted
	shown int64 // DoneBytes last reported
}

// NewMeter returns a Meter that reports to report (a request's Report
// method) against total bytes, -1 when unknown.
func NewMeter(report func(storage.Progress), total int64) *Meter {
	return &Meter{report: report, total: total}
}

// SetTotal sets the total once it is known (a response's length, say).
func (m *Meter) SetTotal(total int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.total = total
}

// Add counts n more bytes, moved for current (a file or key; may be
// empty). It reports only when DoneBytes goes up: bytes past the total,
// such as a blob read again on a retry, are not shown.
func (m *Meter) Add(n int64, current string) {
	if n <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done += n
	done := m.done
	if m.total >= 0 {
		done = min(done, m.total)
	}
	if done <= m.shown {
		return
	}
	m.shown = done
	m.report(storage.Progress{DoneBytes: done, TotalBytes: m.total, Current: current})
}

// Done returns the bytes counted so far, past the total too: for a
// response's Bytes when every byte is counted once.
func (m *Meter) Done() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.done
}

// Transfer returns a counter for one transfer (one object, one part, one
// request) of the call, shown as current.
func (m *Meter) Transfer(current string) *Transfer {
	return &Transfer{m: m, current: current}
}

// Transfer counts one transfer that may start over: only bytes past the
// furthest point it reached count, so a retried request counts once. One
// Transfer is used by one goroutine at a time.
type Transfer struct {
	m       *Meter
	current string
	reached int64
}

// At says the transfer has reached byte offset n in its current attempt
// (or of the whole object, for a resumed download).
func (t *Transfer) At(n int64) {
	if n > t.reached {
		t.m.Add(n-t.reached, t.current)
		t.reached = n
	}
}
