package isolation

import (
	"os"
	"testing"
)

// TestMain lets this test binary be the landlock box's init, as mmbuild is
// (NewLandlockLauncher starts the running program again as InitName).
func TestMain(m *testing.M) {
	RunInit()
	os.Exit(m.Run())
}
