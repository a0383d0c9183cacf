package safepath_test

import (
	"errors"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/safepath"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		rel string
		ok  bool
	}{
		{"a", true},
		{"a/b/c.txt", true},
		{"a..b/..c", true},
		{".hidden/x", true},
		{"...", true},
		{"dir with space/f", true},
		{"", false},
		{"/etc/passwd", false},
		{"..", false},
		{"../x", false},
		{"a/../../x", false},
		{"a/./b", false},
		{".", false},
		{"a//b", false},
		{"a/", false},
		{`a\..\x`, false},
		{`C:\evil`, false},
		{"./a", false},
		{"a/..", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\x7fb", false},
	} {
		err := safepath.Check(tc.rel)
		if tc.ok && err != nil {
			t.Errorf("Check(%q) = %v, want nil", tc.rel, err)
		}
		if !tc.ok && !errors.Is(err, storage.ErrUnsafePath) {
			t.Errorf("Check(%q) = %v, want storage.ErrUnsafePath", tc.rel, err)
		}
	}
}
