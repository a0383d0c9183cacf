// Package storage defines what a storage plugin (a backend for one or more
// URL schemes) implements. It holds only interfaces and plain values.
//
// Data never travels through the plugin protocol: on Get the core names a
// destination path inside a staging directory it owns, on Put a source path,
// and the plugin reads or writes there directly. The core computes every
// digest of what it transfers itself. The one digest a plugin reports is
// StatResponse.Digest, what a reference resolves to in a backend that names
// content by digest (an image tag in a registry): that is the backend's
// answer, and a reader checks it against the content (cosign against the
// image's manifest).
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
	// Digest is the content digest the URL resolves to, "sha256:<hex>",
	// when the backend names content by one (the manifest digest of an
	// image reference); empty otherwise.
	Digest string
}

// CapabilityImages is announced by a backend that serves container images
// (a registry): an image reference written without a scheme
// (HOST/REPO:TAG in artifacts.images, as the original format wrote them)
// is served by the one plugin announcing it, through the URL scheme it
// serves, so no scheme is named by the core.
const CapabilityImages = "storage:images"

// CapabilityAttach is announced by a backend whose component implements
// Attacher.
const CapabilityAttach = "storage:attach"

// Attacher is implemented by a backend that keeps attestations beside the
// content they attest (a registry: referrers of an image). It is optional:
// the SDK serves Attach when the component implements it, and answers
// errors.ErrUnsupported otherwise. Serve announces CapabilityAttach for it.
type Attacher interface {
	// Attach stores the file at SourcePath attached to the object
	// SubjectURL names by its digest, where the backend's tools look for
	// it. Attaching the same file twice stores it once; other files
	// attached to the subject stay.
	Attach(ctx context.Context, req *AttachRequest) (*AttachResponse, error)
}

// AttachRequest attaches one file to a subject.
type AttachRequest struct {
	// SubjectURL names the subject by its digest
	// (oci://HOST/REPO@sha256:HEX).
	SubjectURL string
	// SourcePath is the file to attach.
	SourcePath string
	// MediaType is the file's: "application/vnd.dsse.envelope.v1+json"
	// (a DSSE envelope), "application/vnd.dev.sigstore.bundle.v0.3+json"
	// (a Sigstore bundle).
	MediaType string
	// PredicateType is the in-toto predicate type of the attested
	// statement ("https://slsa.dev/provenance/v0.2").
	PredicateType string
	// Annotations are recorded beside the file where the backend keeps such
	// metadata.
	Annotations map[string]string
	Options     map[string]string
}

// AttachResponse says where the file was stored.
type AttachResponse struct {
	// Locations are URLs (without credentials) of what was written, for
	// logs.
	Locations []string
}

// CapabilityAttached is announced by a backend whose component implements
// AttachedReader.
const CapabilityAttached = "storage:attached"

// AttachedReader is implemented by a backend that gives back what is
// attached to a subject (a registry: the attestations of an image, its
// referrers and cosign's attestation tag). It is optional, like Attacher:
// the SDK answers errors.ErrUnsupported for a component without it.
// Serve announces CapabilityAttached for it.
type AttachedReader interface {
	// Attached creates the folder DestPath (which does not exist yet; its
	// parent does) and writes every file attached to the subject
	// SubjectURL names by its digest there, one file each. A subject with
	// nothing attached is an empty response; a subject that is not there
	// is fs.ErrNotExist. The backend bounds how many files and bytes it
	// writes.
	Attached(ctx context.Context, req *AttachedRequest) (*AttachedResponse, error)
}

// AttachedRequest asks for the files attached to a subject.
type AttachedRequest struct {
	// SubjectURL names the subject by its digest
	// (oci://HOST/REPO@sha256:HEX).
	SubjectURL string
	// DestPath is the folder to create and write the files in.
	DestPath string
	Options  map[string]string
}

// AttachedResponse lists what was written in DestPath.
type AttachedResponse struct {
	Files []AttachedFile
}

// AttachedFile is one file attached to a subject, as written.
type AttachedFile struct {
	// Name is its name in DestPath, one path segment.
	Name string
	// MediaType is the file's, as AttachRequest.MediaType.
	MediaType string
	// Location says where the backend keeps it (a URL without
	// credentials), for messages.
	Location string
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
