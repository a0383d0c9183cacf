//go:build !unix

package testservers

import "testing"

// lockTSAMetricsPort does nothing where flock is missing: two timestamp
// servers at once then fail on the metrics port, with that in the error.
func lockTSAMetricsPort(testing.TB) error { return nil }
