package httpstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// testStore is a Store that retries without long waits and ignores the
// environment.
func testStore() *Store {
	s := New(WithUserAgent("httpstore-test"))
	s.policy = retryPolicy{attempts: 5, backoff: 2 * time.Millisecond, maxBackoff: 10 * time.Millisecond, retryAfterCap: 3 * time.Second}
	s.getenv = func(string) string { return "" }
	return s
}

// wire serves s in-process over real gRPC, as the core sees the plugin.
func wire(t *testing.T, s *Store) storage.Storage {
	t.Helper()
	return sdktest.Serve(t, plugin.WithName("http"), plugin.WithStorage("http", s), plugin.WithStorage("https", s)).Storage()
}

// object writes n pseudo-random bytes to root/name and returns them.
func object(t *testing.T, root, name string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(n), byte(len(name))}).Read(data)
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// get downloads u with s into a fresh folder and returns the bytes.
func get(t *testing.T, s storage.Storage, u string, opts map[string]string, progress storage.ProgressFunc) (*storage.GetResponse, []byte, error) {
	t.Helper()
	dir := t.TempDir()
	dest := filepath.Join(dir, "dest")
	resp, err := s.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest, Options: opts, Progress: progress})
	entries, _ := os.ReadDir(dir)
	if err != nil {
		if len(entries) != 0 {
			t.Errorf("Get %s failed (%v) but left %d entries behind", u, err, len(entries))
		}
		return nil, nil, err
	}
	if len(entries) != 1 || entries[0].Name() != "dest" {
		t.Errorf("Get %s wrote %v, want only dest", u, entries)
	}
	data, rerr := os.ReadFile(dest)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if resp.Bytes != int64(len(data)) || resp.Files != 1 || resp.IsDir {
		t.Errorf("Get %s: response %+v for %d bytes", u, resp, len(data))
	}
	return resp, data, nil
}

// mustGet is get that fails the test on an error and compares the bytes.
func mustGet(t *testing.T, s storage.Storage, u string, opts map[string]string, want []byte) {
	t.Helper()
	_, got, err := get(t, s, u, opts, nil)
	if err != nil {
		t.Fatalf("Get %s: %v", u, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get %s: %d bytes (sha256 %s), want %d (sha256 %s)", u, len(got), sum(got), len(want), sum(want))
	}
}

// noSecret fails when err's message holds any of secrets.
func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error reveals %q: %v", s, err)
		}
	}
}
