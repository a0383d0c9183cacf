package testservers

import (
	"os"
	"strconv"
	"testing"
)

// EnvInt is the positive integer in the environment variable name, or def
// when it is unset; anything else fails t. Benchmarks read their sizes and
// rounds with it.
func EnvInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
