package sdktest

import (
	"sync"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// ProgressLog records progress snapshots and fails the test when DoneBytes
// goes down or passes a known TotalBytes: what the host relies on. Pass
// its Report as a request's Progress; it is safe for concurrent use.
type ProgressLog struct {
	t  testing.TB
	op string

	mu   sync.Mutex
	n    int
	last storage.Progress
}

// NewProgressLog returns a ProgressLog whose failures name op ("Get").
func NewProgressLog(t testing.TB, op string) *ProgressLog {
	return &ProgressLog{t: t, op: op}
}

// Report records p.
func (l *ProgressLog) Report(p storage.Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p.DoneBytes < l.last.DoneBytes {
		l.t.Errorf("%s progress went back: DoneBytes %d after %d", l.op, p.DoneBytes, l.last.DoneBytes)
	}
	if p.TotalBytes > 0 && p.DoneBytes > p.TotalBytes {
		l.t.Errorf("%s progress: DoneBytes %d above TotalBytes %d", l.op, p.DoneBytes, p.TotalBytes)
	}
	l.n++
	l.last = p
}

// Last returns the last snapshot and how many were reported.
func (l *ProgressLog) Last() (storage.Progress, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last, l.n
}

// done logs what was reported and fails when the last snapshot claims more
// than size bytes.
func (l *ProgressLog) done(size int64) {
	last, n := l.Last()
	if n == 0 {
		l.t.Logf("%s reported no progress (optional)", l.op)
		return
	}
	l.t.Logf("%s reported progress %d times, last %d/%d", l.op, n, last.DoneBytes, last.TotalBytes)
	if last.DoneBytes > size {
		l.t.Errorf("%s progress: DoneBytes %d above the %d bytes moved", l.op, last.DoneBytes, size)
	}
}
