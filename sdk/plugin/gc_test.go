package plugin

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestShortLivedGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	t.Run("default", func(t *testing.T) {
		if gogc, set := os.LookupEnv("GOGC"); set {
			t.Setenv("GOGC", gogc) // restored after
			os.Unsetenv("GOGC")
		}
		debug.SetGCPercent(100)
		ShortLivedGC()
		if got := debug.SetGCPercent(100); got != shortLivedGCPercent {
			t.Fatalf("GC percent = %d, want %d", got, shortLivedGCPercent)
		}
	})
	t.Run("GOGC set wins", func(t *testing.T) {
		t.Setenv("GOGC", "50")
		debug.SetGCPercent(50)
		ShortLivedGC()
		if got := debug.SetGCPercent(100); got != 50 {
			t.Fatalf("GC percent = %d, want the environment's 50", got)
		}
	})
}
