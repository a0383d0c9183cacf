//go:build !linux

package testservers

import "os/exec"

// s3KillWithParent does nothing where the OS has no parent-death signal: the
// server is stopped by t.Cleanup.
func s3KillWithParent(*exec.Cmd) {}
