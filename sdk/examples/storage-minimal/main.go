// Command mmbuild-plugin-mem is a complete storage plugin in one file: it
// keeps files in memory, as mem://<bucket>/<key>, for as long as it runs.
// Copy it as the start of a real backend.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

func main() {
	plugin.Serve(
		plugin.WithName("mem"),
		plugin.WithVersion("0.1.0"),
		plugin.WithStorage("mem", newStore()),
	)
}

// store holds objects by key. The core may call it concurrently.
type store struct {
	mu      sync.Mutex
	objects map[string]object
}

type object struct {
	data    []byte
	mode    fs.FileMode
	modTime time.Time
}

var (
	_ storage.Storage = (*store)(nil)
	_ plugin.Capabler = (*store)(nil)
)

func newStore() *store { return &store{objects: map[string]object{}} }

// Capabilities announces Put and progress, and by leaving out
// storage.CapabilityGetDir and CapabilityPutDir that this store holds files, not
// trees. They inform whoever reads `describe`; what the core acts on is the
// error a call returns (errors.ErrUnsupported for a tree).
func (*store) Capabilities() []string {
	return []string{storage.CapabilityPut, storage.CapabilityProgress}
}

// key turns mem://bucket/some/key into "bucket/some/key". Anything else is
// storage.ErrInvalidURL; an unknown option is refused.
func key(rawURL string, options map[string]string) (string, error) {
	if len(options) > 0 {
		return "", fmt.Errorf("mem storage takes no options, got %v", options)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("%w: %v", storage.ErrInvalidURL, err)
	}
	if u.Scheme != "mem" || u.Host == "" || len(u.Path) < 2 || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: %q: want mem://bucket/key", storage.ErrInvalidURL, rawURL)
	}
	return u.Host + u.Path, nil
}

func (s *store) lookup(rawURL string, options map[string]string) (object, error) {
	k, err := key(rawURL, options)
	if err != nil {
		return object{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.objects[k]
	if !ok {
		// The contract: a missing object is fs.ErrNotExist, so errors.Is
		// works in the core, across the process boundary.
		return object{}, fmt.Errorf("%s: %w", rawURL, fs.ErrNotExist)
	}
	return obj, nil
}

func (s *store) Stat(_ context.Context, req *storage.StatRequest) (*storage.StatResponse, error) {
	obj, err := s.lookup(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	return &storage.StatResponse{Size: int64(len(obj.data)), ModTime: obj.modTime}, nil
}

// Get writes the object to req.DestPath, a path the core chose inside a
// staging directory it owns. Data never travels through the plugin protocol.
func (s *store) Get(ctx context.Context, req *storage.GetRequest) (*storage.GetResponse, error) {
	obj, err := s.lookup(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	// DestPath does not exist yet: O_EXCL makes sure nothing else is written.
	f, err := os.OpenFile(req.DestPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	n, err := copyData(ctx, f, bytes.NewReader(obj.data), int64(len(obj.data)), req.Report)
	if err == nil {
		err = f.Chmod(obj.mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(req.DestPath) // leave nothing that looks like a result
		return nil, err
	}
	plugin.Logger().Debug("get", "url", req.URL, "bytes", n)
	return &storage.GetResponse{Bytes: n, Files: 1}, nil
}

// Put reads req.SourcePath, a path the core owns, and stores it under the
// URL. Readers never see a partial object: it is swapped in once complete.
func (s *store) Put(ctx context.Context, req *storage.PutRequest) (*storage.PutResponse, error) {
	k, err := key(req.URL, req.Options)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(req.SourcePath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: mem storage holds files only: %w", req.SourcePath, errors.ErrUnsupported)
	}
	var buf bytes.Buffer
	n, err := copyData(ctx, &buf, f, info.Size(), req.Report)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.objects[k] = object{data: buf.Bytes(), mode: info.Mode().Perm(), modTime: time.Now()}
	s.mu.Unlock()
	plugin.Logger().Debug("put", "url", req.URL, "bytes", n)
	return &storage.PutResponse{Bytes: n, Files: 1}, nil
}

// copyData copies src to dst, reporting progress and stopping when ctx is
// cancelled. report may be called as often as you like: the SDK rate-limits
// what crosses to the core.
func copyData(ctx context.Context, dst io.Writer, src io.Reader, total int64, report func(storage.Progress)) (int64, error) {
	buf := make([]byte, 256<<10)
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return done, werr
			}
			done += int64(n)
			report(storage.Progress{DoneBytes: done, TotalBytes: total})
		}
		if err == io.EOF {
			return done, nil
		}
		if err != nil {
			return done, err
		}
	}
}
