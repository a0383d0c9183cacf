package pluginhost

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test of the package must leave no goroutine behind: transfers,
// plugin connections and watchers all end with the call that started them.
// gRPC's and go-plugin's own background workers of in-process test
// connections are torn down by their t.Cleanup and may take a moment, which
// goleak waits for.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
