package s3store

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// TestStatsReuseConnections stats objects from many goroutines at once, as
// the SDK serves a batch of Stats from the core, through a TCP forwarder
// that counts the connections the Store opens: every request reuses one of
// the few connections the pool keeps, instead of a new one per HEAD (Go's
// default keeps 2 idle per host, and nothing bounded the HEADs in flight).
func TestStatsReuseConnections(t *testing.T) {
	f := newFixture(t, nil)
	const objects, callers, rounds = 16, 32, 8
	for i := range objects {
		f.putRaw(t, fmt.Sprintf("conn/o%02d", i), []byte("x"))
	}
	fwd, opened := countingForwarder(t, f.srv.Endpoint)
	s, err := New(WithGetenv(func(k string) string { return map[string]string{EnvEndpoint: fwd}[k] }))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for r := range rounds {
				u := fmt.Sprintf("s3://%s/conn/o%02d", testBucket, (c+r)%objects)
				if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: u}); err != nil {
					t.Errorf("Stat %s: %v", u, err)
				}
			}
		})
	}
	wg.Wait()
	// One connection per metadata request in flight, with slack: Go's
	// transport may dial for a request while another is handing its
	// connection back (CI once saw 9). Without the pool's reuse it is one
	// per Stat (256); without the cap, ~33.
	if limit := 2 * metaConcurrency; opened.Load() > int64(limit) {
		t.Errorf("%d Stats opened %d connections, want at most %d (about one per metadata request in flight)", callers*rounds, opened.Load(), limit)
	}
}

// countingForwarder forwards TCP connections on a loopback port to the
// server at endpoint and counts them; it returns its endpoint.
func countingForwarder(t *testing.T, endpoint string) (string, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opened atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns { // the Store's idle connections stay open
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			opened.Add(1)
			out, err := net.Dial("tcp", u.Host)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			wg.Go(func() { io.Copy(out, in); out.Close() })
			wg.Go(func() { io.Copy(in, out); in.Close() })
		}
	})
	return "http://" + l.Addr().String(), &opened
}
