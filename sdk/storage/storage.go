// Package storage defines what a storage plugin (a backend for one or more
// URL schemes) implements. It holds only interfaces and plain values.
//
// Data never travels through the plugin protocol: on Get the core names a
// destination path inside a staging directory it owns, on Put a source path,
// and the plugin reads or writes there directly. The core computes every
// digest itself; a plugin never reports one.
package storage

import (
	"context"
	"errors"
	"time"
)

// Storage is a backend for the URL schemes a plugin declares.
//
// Errors follow one contract so that the core can act on them through
// errors.Is, across the process boundary:
//   - a missing object or tree is fs.ErrNotExist;
//   - refused credentials or permissions are fs.ErrPermission;
//   - an operation the backend does not offer (Put on a read-only store) is
//     errors.ErrUnsupported;
//   - a URL the backend cannot parse is ErrInvalidURL;
//   - an entry that would land outside its destination (.., an absolute path,
//     a symlink pointing out) is ErrUnsafePath.
type Storage interface {
	// Stat describes the object or tree at URL without transferring it.
	Stat(ctx context.Context, req *StatRequest) (*StatResponse, error)
	// Get writes the object at URL to DestPath as a file, or the tree under
	// URL as a directory. DestPath does not exist yet; its parent does. On
	// error the plugin leaves nothing the core would mistake for a result (the
	// core discards DestPath anyway).
	Get(ctx context.Context, req *GetRequest) (*GetResponse, error)
	// Put uploads SourcePath (a file or a directory tree) to URL. Readers of
	// URL must never see a partial object: write atomically where the backend
	// allows it.
	Put(ctx context.Context, req *PutRequest) (*PutResponse, error)
}

var (
	// ErrInvalidURL reports a URL the backend cannot use.
	ErrInvalidURL = errors.New("invalid URL")
	// ErrUnsafePath reports a key, entry or link that escapes its destination.
	ErrUnsafePath = errors.New("unsafe path")
)

// StatRequest asks about one URL.
type StatRequest struct {
	URL     string
	Options map[string]string
}

// StatResponse describes an object or a tree.
type StatResponse struct {
	IsDir   bool
	Size    int64 // bytes of the object; for a tree, its total when known, else -1
	ModTime time.Time
}

// Progress is a snapshot of a running transfer.
type Progress struct {
	DoneBytes  int64
	TotalBytes int64 // -1 when unknown
	Current    string
}

// ProgressFunc receives progress snapshots. It may be called often; the SDK
// rate-limits what crosses the process boundary.
type ProgressFunc func(Progress)

// GetRequest downloads URL to DestPath.
type GetRequest struct {
	URL      string
	DestPath string
	Options  map[string]string
	// Progress, when set, receives progress snapshots. Use Report.
	Progress ProgressFunc
}

// Report forwards p to the request's progress function, if any.
func (r *GetRequest) Report(p Progress) {
	if r.Progress != nil {
		r.Progress(p)
	}
}

// PutRequest uploads SourcePath to URL.
type PutRequest struct {
	SourcePath string
	URL        string
	Options    map[string]string
	Progress   ProgressFunc
}

// Report forwards p to the request's progress function, if any.
func (r *PutRequest) Report(p Progress) {
	if r.Progress != nil {
		r.Progress(p)
	}
}

// GetResponse says what was transferred.
type GetResponse struct {
	Bytes int64 // total size of the regular files written
	Files int64 // number of regular files written
	IsDir bool
	// Revision is the exact revision a versioned source resolved to (the
	// git commit id of a tag or branch); empty for unversioned backends.
	Revision string
	// Name is the file name the object goes by, which the core gives the
	// material in $MMBUILD_MATERIALS_DIR: the last segment of its path,
	// without what only the backend knows is not part of it (a revision,
	// a ".git" suffix). Empty: the core takes the URL's last segment.
	Name string
}

// PutResponse says what was transferred.
type PutResponse struct {
	Bytes int64
	Files int64
	IsDir bool
}
