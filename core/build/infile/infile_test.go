package infile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A named pipe, a device and a folder are refused at once, without waiting
// for a writer; a file over the limit is refused; a file within it is read.
func TestReadRefusesWhatIsNotARegularFileWithoutWaiting(t *testing.T) {
	dir := t.TempDir()
	pipe := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		max  int64
		want error
	}{
		{pipe, 10, ErrNotRegular},
		{"/dev/zero", 10, ErrNotRegular},
		{dir, 10, ErrNotRegular},
		{file, 4, ErrTooLarge},
		{file, 5, nil},
	}
	for _, tt := range tests {
		done := make(chan error, 1)
		go func() { _, err := Read(tt.path, tt.max); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Read(%s, %d) = %v, want %v", tt.path, tt.max, err, tt.want)
			}
		case <-time.After(5 * time.Second):
			if w, err := os.OpenFile(pipe, os.O_WRONLY, 0); err == nil {
				w.Close()
			}
			<-done
			t.Fatalf("Read(%s) blocked", tt.path)
		}
	}
}
