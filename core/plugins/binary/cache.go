package binary

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
)

// maxEntries bounds the sum cache: past it the cache starts over (a handful
// of plugins, each in a few versions, fit many times).
const maxEntries = 512

// SumCache remembers the sha256 of plugin binaries by file identity
// (device, inode, size, content and status-change times), so an unchanged
// binary is not re-hashed on every run. It lives in a file only the user can
// write; a cache file or folder that others could write is not used.
type SumCache struct {
	path string
	mu   sync.Mutex
	sums map[string]string // identity → "sha256:<hex>"
	read bool
	new  bool
}

// DefaultSumCache is $XDG_CACHE_HOME/mmbuild/plugin-sums.json (default
// ~/.cache/...); nil when neither is known.
func DefaultSumCache() *SumCache {
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return nil
		}
		dir = filepath.Join(home, ".cache")
	}
	return NewSumCache(filepath.Join(dir, "mmbuild", "plugin-sums.json"))
}

// NewSumCache returns a cache kept in the file at path.
func NewSumCache(path string) *SumCache { return &SumCache{path: path, sums: map[string]string{}} }

func (c *SumCache) load() {
	if c.read {
		return
	}
	c.read = true
	if Insecure(c.path) != "" {
		return // missing, or writable by others: start empty
	}
	data, err := os.ReadFile(c.path)
	if err != nil {
		return
	}
	var sums map[string]string
	if json.Unmarshal(data, &sums) == nil && len(sums) <= maxEntries {
		c.sums = sums
	}
}

func (c *SumCache) get(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load()
	sum, ok := c.sums[id]
	return sum, ok
}

func (c *SumCache) put(id, sum string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load()
	if len(c.sums) >= maxEntries {
		c.sums = map[string]string{}
	}
	c.sums[id] = sum
	c.new = true
}

// Save writes new entries. A cache that cannot be written only costs a
// hash next time, so errors are returned for the caller to ignore.
func (c *SumCache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.new {
		return nil
	}
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, err := json.Marshal(c.sums)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".plugin-sums-*.tmp")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), c.path)
	}
	if werr != nil {
		_ = os.Remove(f.Name())
		return werr
	}
	c.new = false
	return nil
}
