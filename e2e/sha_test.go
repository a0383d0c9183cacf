package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func sha256Hex(t *testing.T, b []byte) string {
	t.Helper()
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
