//go:build !linux

package isolation

// ProtectCore does nothing where there is no PR_SET_DUMPABLE.
func ProtectCore() error { return nil }
