// Package storage defines what a storage plugin (a backend for one or more
// URL schemes) implements. It holds only interfaces and plain values.
//
// Data never travels through the plugin protocol: on Get the core names a
// destination path inside a staging directory it owns, on Put a source path,
// and the plugin reads or writes there directly. The core computes every
// digest of what it transfers itself. Two digests a plugin reports are the
// backend's word, not the core's: StatResponse.Digest, what a reference
// resolves to in a backend that names content by digest (an image tag in a
// registry), which a reader checks against the content (cosign against the
// image's manifest); and StatResponse.ContentDigest, which the core compares
// with a digest it recorded, to check what a store holds without
// downloading it (see CapabilityContentDigest for who vouches for what).
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
//     a symlink pointing out) is ErrUnsafePath;
//   - an object replaced while it was read, again at each try, is
//     ErrChanged.
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
	// ErrChanged reports an object another client kept replacing while it
	// was read, so that no whole version of it could be had: the core
	// takes it as a concurrent writer, not a broken store.
	ErrChanged = errors.New("changed while it was read")
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
	// ContentDigest is the digest of the bytes Get would write for a file,
	// "sha256:<hex>", when the backend vouches for it without sending them;
	// empty otherwise, and for a tree. See CapabilityContentDigest.
	ContentDigest string
	// Version names this version of the object: a token the backend
	// changes whenever the object is written again, from the same request
	// that gave ContentDigest (S3: its ETag and modification time). Empty
	// when the backend has none. A Lister reports the same token.
	Version string
}

// CapabilityList is announced by a backend whose component implements
// Lister.
const CapabilityList = "storage:list"

// Lister is implemented by a backend that describes a folder's files in a
// few requests (an S3 listing, 1,000 keys a page). It is optional: the SDK
// answers errors.ErrUnsupported for a component without it, and Serve
// announces CapabilityList for one with it. The core uses it on a cache
// hit: an object whose listed version and size are those it recorded when
// the backend vouched for its digest (Stat's ContentDigest and Version) is
// the object it checked then, so it need not be asked again.
type Lister interface {
	// List describes the files directly in the folder URL names, not those
	// in its sub-folders: at most a page of them, in ascending byte order
	// of Name, starting after StartAfter. Truncated says more follow. A
	// folder that does not exist is an empty response.
	List(ctx context.Context, req *ListRequest) (*ListResponse, error)
}

// ListRequest asks for a page of the files in a folder.
type ListRequest struct {
	URL     string
	Options map[string]string
	// StartAfter is the Name the page starts after; "" for the first page.
	StartAfter string
}

// ListResponse is a page of a folder's files.
type ListResponse struct {
	Entries   []ListEntry
	Truncated bool
}

// ListEntry is one file of a folder.
type ListEntry struct {
	// Name is the file's name in the folder, one path segment.
	Name string
	Size int64
	// Version is the one Stat reports for the file, or "".
	Version string
}

// CapabilityContentDigest is announced by a backend whose Stat reports
// StatResponse.ContentDigest for the files it holds. The core then checks
// what a destination holds (after publishing, on a cache hit) by comparing
// that digest with the one it recorded, and downloads nothing; a backend
// without it is checked by downloading and hashing.
//
// Report a digest only when the backend itself keeps or computes it from
// the stored bytes: a checksum the server verified when the bytes arrived
// (S3's SHA-256 checksum), the address content is stored under (an OCI
// blob), or the file hashed in place. Never report a digest a client merely
// claimed: the check exists against corrupted, truncated and interleaved
// uploads, and a digest that was not derived from the bytes defeats it.
const CapabilityContentDigest = "storage:content-digest"

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
	// Digest is the core's digest of the file at SourcePath,
	// "sha256:<hex>"; empty for a tree or when unknown. A backend that keeps
	// checksums stores it with the object, and may refuse the upload when
	// the bytes do not match it (S3 does).
	Digest string
	// Snapshot says SourcePath is a read-only copy the core made of the
	// bytes it hashed: nothing writes to it, and the core removes it when
	// the run ends. A backend on the same file system may hard link it
	// instead of copying it; the published file then shares its bytes
	// with a file nobody changes.
	Snapshot bool
	Progress ProgressFunc
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

// CapabilityBatch is announced by the SDK for every storage component: the
// host may send many Stats or Puts in one round trip (StatBatch,
// PutBatch). A component does not announce it itself.
const CapabilityBatch = "storage:batch"

// Batcher is implemented by a backend that does many Stats or Puts better
// together than one by one (one sync for a batch of files, one listing for
// many objects). It is optional: for a component without it the SDK serves
// a batch by calling Stat or Put for each item, a few at a time.
type Batcher interface {
	StatBatcher
	PutBatcher
}

// StatBatcher is the half of Batcher a backend may implement alone: the
// SDK serves StatBatch through it, and PutBatch by calling Put.
type StatBatcher interface {
	// StatBatch answers every item, in order; an item's error goes in its
	// result. The returned error is for the batch as a whole (cancelled).
	StatBatch(ctx context.Context, req *StatBatchRequest) (*StatBatchResponse, error)
}

// PutBatcher is the other half of Batcher: the SDK serves PutBatch
// through it, and StatBatch by calling Stat.
type PutBatcher interface {
	// PutBatch puts every item, or fails with the first error; what was
	// put before stays. Each item is atomic as Put is. An item's failure
	// is an *ItemError naming it.
	PutBatch(ctx context.Context, req *PutBatchRequest) (*PutResponse, error)
}

// StatBatchRequest asks about many URLs.
type StatBatchRequest struct {
	Items []StatRequest
}

// StatBatchResponse holds one result per item, in order.
type StatBatchResponse struct {
	Results []StatResult
}

// StatResult is one item's answer: Stat, or Err (fs.ErrNotExist for a
// missing object, as Stat's error).
type StatResult struct {
	Stat *StatResponse
	Err  error
}

// ItemError is the failure of one item of a batch: Index is its place in
// the request's Items. A Batcher's PutBatch returns one (or wraps one) when
// an item failed, so that the host names the file that failed; the SDK does
// so for a component without its own PutBatch. The message is Err's.
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return e.Err.Error() }
func (e *ItemError) Unwrap() error { return e.Err }

// PutBatchRequest uploads many files or trees. The items' own Progress
// functions are ignored: the batch reports through its own.
type PutBatchRequest struct {
	Items    []PutRequest
	Progress ProgressFunc
}

// Report forwards p to the request's progress function, if any.
func (r *PutBatchRequest) Report(p Progress) {
	if r.Progress != nil {
		r.Progress(p)
	}
}
