package s3store

import (
	"strings"
	"sync"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Warm builds the clients the calls share, once, also while calls are
// under way; a configuration it cannot build the clients from is not lost:
// the first call reports it.
func TestWarm(t *testing.T) {
	t.Run("builds the shared clients", func(t *testing.T) {
		f := newFixture(t, nil)
		f.store.Warm()
		built := f.store.clients
		if built == nil {
			t.Fatal("Warm built no clients")
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				f.store.Warm()
				if _, err := f.store.Stat(t.Context(), &storage.StatRequest{URL: "s3://" + testBucket + "/none"}); err == nil {
					t.Error("Stat of a missing object succeeded")
				}
			})
		}
		wg.Wait()
		if f.store.clients != built {
			t.Error("the calls built other clients than Warm")
		}
	})
	t.Run("the first call reports what Warm could not build", func(t *testing.T) {
		f := newFixture(t, map[string]string{EnvPathStyle: "sometimes"})
		f.store.Warm()
		_, err := f.store.Stat(t.Context(), &storage.StatRequest{URL: "s3://" + testBucket + "/obj"})
		if err == nil || !strings.Contains(err.Error(), EnvPathStyle) {
			t.Fatalf("Stat after a failed Warm: %v, want the %s error", err, EnvPathStyle)
		}
	})
}
