package progress_test

import (
	"sync"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/progress"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

func TestMeter(t *testing.T) {
	for _, tc := range []struct {
		name      string
		total     int64
		run       func(m *progress.Meter)
		wantDone  int64
		wantCalls int
	}{
		{"adds", 10, func(m *progress.Meter) { m.Add(3, "a"); m.Add(7, "b") }, 10, 2},
		{"zero and negative are ignored", 10, func(m *progress.Meter) { m.Add(0, "a"); m.Add(-5, "a"); m.Add(2, "a") }, 2, 1},
		{"capped at the total", 10, func(m *progress.Meter) { m.Add(8, ""); m.Add(8, ""); m.Add(8, "") }, 10, 2},
		{"unknown total is not capped", -1, func(m *progress.Meter) { m.Add(8, ""); m.Add(8, "") }, 16, 2},
		{"total learned late", -1, func(m *progress.Meter) { m.Add(4, ""); m.SetTotal(6); m.Add(4, "") }, 6, 2},
		{"a retried transfer counts once", 10, func(m *progress.Meter) {
			tr := m.Transfer("k")
			tr.At(4)
			tr.At(2) // started over
			tr.At(4)
			tr.At(6)
		}, 6, 2},
		{"transfers add up", 10, func(m *progress.Meter) {
			a, b := m.Transfer("a"), m.Transfer("b")
			a.At(3)
			b.At(5)
			a.At(5)
		}, 10, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sdktest.NewProgressLog(t, "Meter")
			tc.run(progress.NewMeter(r.Report, tc.total))
			if last, n := r.Last(); last.DoneBytes != tc.wantDone || n != tc.wantCalls {
				t.Errorf("last DoneBytes %d after %d reports, want %d after %d", last.DoneBytes, n, tc.wantDone, tc.wantCalls)
			}
		})
	}
}

func TestMeterConcurrent(t *testing.T) {
	r := sdktest.NewProgressLog(t, "Meter")
	m := progress.NewMeter(r.Report, 64*1000)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			tr := m.Transfer("part")
			for i := range 1000 {
				tr.At(int64(i + 1))
				if i == 500 {
					for j := range 501 { // a retry from the start
						tr.At(int64(j))
					}
				}
			}
		})
	}
	wg.Wait()
	if last, _ := r.Last(); last.DoneBytes != 64*1000 || m.Done() != 64*1000 {
		t.Errorf("DoneBytes %d, Done %d, want %d", last.DoneBytes, m.Done(), 64*1000)
	}
}
