package sdktest_test

import (
	"fmt"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// failures is a testing.TB that records Errorf instead of failing.
type failures struct {
	testing.TB
	got []string
}

func (f *failures) Errorf(format string, args ...any) {
	f.got = append(f.got, fmt.Sprintf(format, args...))
}

func TestProgressLog(t *testing.T) {
	for _, tc := range []struct {
		name  string
		snaps []storage.Progress
		fails int
	}{
		{"up to the total", []storage.Progress{{DoneBytes: 1, TotalBytes: 4}, {DoneBytes: 4, TotalBytes: 4}}, 0},
		{"unknown total", []storage.Progress{{DoneBytes: 9, TotalBytes: -1}}, 0},
		{"going back", []storage.Progress{{DoneBytes: 3, TotalBytes: 4}, {DoneBytes: 2, TotalBytes: 4}}, 1},
		{"past the total", []storage.Progress{{DoneBytes: 5, TotalBytes: 4}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &failures{TB: t}
			l := sdktest.NewProgressLog(f, "Get")
			for _, p := range tc.snaps {
				l.Report(p)
			}
			if len(f.got) != tc.fails {
				t.Errorf("failures %q, want %d", f.got, tc.fails)
			}
			if last, n := l.Last(); n != len(tc.snaps) || last != tc.snaps[len(tc.snaps)-1] {
				t.Errorf("Last() = %+v, %d", last, n)
			}
		})
	}
}
