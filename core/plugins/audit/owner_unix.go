//go:build unix

package audit

import (
	"io/fs"
	"syscall"
)

// owner returns the uid owning the file described by st.
func owner(st fs.FileInfo) (int, bool) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid), true
	}
	return 0, false
}
