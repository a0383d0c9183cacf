//go:build !linux

package binary

import "os"

// ExecPath is the binary's path: without /proc/self/fd, the check and the
// exec cannot share a descriptor, and the folder permissions Open checks
// are what keeps the file from being swapped.
func (b *File) ExecPath() (string, error) { return b.Path, nil }

func closeDups([]int) {}

// ExecInherited is the binary's path and no descriptor: without
// /proc/self/fd, the check and the exec are two steps.
func (b *File) ExecInherited() (path string, extra *os.File) { return b.Path, nil }
