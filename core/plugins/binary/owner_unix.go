//go:build unix

package binary

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

// identity is what changes whenever a non-root user changes a file: its
// inode, size, content time and status-change time (which even a reset of
// the content time by utimes moves on).
func identity(st fs.FileInfo) (string, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmtIdentity(uint64(s.Dev), uint64(s.Ino), s.Size, s.Mtim.Nano(), s.Ctim.Nano()), true
}
