// Package infile reads the files a command is given (a config, a lock
// file, a secret, a key) so that a named pipe or a device never blocks it
// and a file larger than its use is refused before it costs memory.
package infile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNotRegular reports a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file (a pipe, a device or a folder)")

// ErrTooLarge reports a file larger than its reader's limit.
var ErrTooLarge = errors.New("larger than its limit")

// Read returns the content of the regular file at path, at most max bytes.
// The file is opened without blocking (a FIFO would otherwise wait for a
// writer, and no signal ends that wait) and refused with ErrNotRegular
// unless it is a regular file; more than max bytes is an error wrapping
// ErrTooLarge.
func Read(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w of %d bytes", path, ErrTooLarge, max)
	}
	return data, nil
}
