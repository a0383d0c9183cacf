//go:build !linux

package filestore

// exchange swaps the directories at a and b in one step; not offered here.
func exchange(a, b string) error { return errNoExchange }
