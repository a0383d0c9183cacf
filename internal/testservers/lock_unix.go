//go:build unix

package testservers

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// tsaLockWait bounds the wait for another test's timestamp server to stop.
const tsaLockWait = 10 * time.Minute

// lockTSAMetricsPort takes a machine-wide lock (a flock on a file in the
// temporary folder) that the timestamp server's fixed metrics port needs,
// waiting while another test process holds it, and releases it when the test
// ends. The lock dies with the process that holds it.
func lockTSAMetricsPort(t testing.TB) error {
	p := filepath.Join(os.TempDir(), "mmbuild-testservers-timestamp-server.lock")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return fmt.Errorf("opening %s: %w", p, err)
	}
	deadline := time.Now().Add(tsaLockWait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if err != syscall.EWOULDBLOCK || time.Now().After(deadline) {
			f.Close()
			return fmt.Errorf("locking %s (another test's timestamp server holds port 2112): %w", p, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() { f.Close() }) // closing the file releases the lock
	return nil
}
