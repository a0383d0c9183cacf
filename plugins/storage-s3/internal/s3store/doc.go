// Package s3store is the storage backend for s3:// URLs: Amazon S3 and
// S3-compatible servers, through the AWS SDK for Go v2.
//
// # URLs
//
// s3://bucket/key names an object; s3://bucket/prefix/ (and s3://bucket/)
// names a tree: every object whose key starts with the prefix. A key not
// ending in "/" names the object of that key when there is one, else the
// tree under key+"/" (so a tree put at s3://b/dir is found again at the same
// URL). Keys are percent-decoded as net/url does. Bucket names follow S3's
// rules. User info (credentials), a port, a query or a fragment, empty
// segments, control characters and keys over 1024 bytes are
// storage.ErrInvalidURL; "." and ".." segments are storage.ErrUnsafePath.
//
// # Configuration
//
// Credentials come only from the standard AWS chain: environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), shared
// config and credentials files and AWS_PROFILE, web identity
// (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN), SSO, and the instance role
// (IMDS) — never from the URL. Region and endpoint come from the same
// places (AWS_REGION, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile).
// The core passes every AWS_* and MMBUILD_* variable to the plugin.
//
// Where AWS's settings do not reach:
//
//	MMBUILD_S3_ENDPOINT=URL        an S3-compatible endpoint (http or https),
//	                               over AWS_ENDPOINT_URL_S3 and the profile's
//	MMBUILD_S3_REGION=REGION       over AWS_REGION and the profile's region;
//	                               without any, us-east-1
//	MMBUILD_S3_PATH_STYLE=BOOL     path-style requests (host/bucket/key);
//	                               default: true for an endpoint that is an
//	                               IP address or localhost, else false
//	MMBUILD_S3_ANONYMOUS=BOOL      unsigned requests, for public buckets
//
// The backend takes no per-request options; any key in Options is an error.
//
// # Transfers
//
// Objects up to one part (16 MiB) move in one request. Larger ones are
// uploaded as multipart uploads and downloaded as ranged GETs written in
// place into the pre-sized file, four requests at a time across all the
// calls of a Store. Data is streamed from and to the files: memory does not
// grow with object size (one 1 MiB buffer per running request).
//
// Put never shows a partial object: a single PUT is atomic, and a multipart
// upload is invisible until completed and aborted (on a fresh context) on
// any error or cancellation. Each request carries the SHA-256 of its body,
// which the server checks for the signature, and its CRC32C, which the
// server keeps (composite over the parts of a multipart upload); the
// checksum the server then reports (per part and the composite) is compared
// with the source's, and an object that does not match is deleted. CRC32C,
// not SHA-256, is what the server keeps because Get verifies it at wire
// speed (the CPU's CRC32 instruction); the checks are for transfer
// integrity only, the caller hashes what it fetches itself.
//
// Get checks the size of everything it receives, and the server's checksum
// where it has one (the strongest, when it has several: an object stored
// with SHA-256 is checked with SHA-256): in the stream for a single GET
// (full-object checksums), per part for a multipart object with a composite
// checksum (the ranges follow the object's parts, each hashed by the worker
// fetching it), or by reading the file back for a full-object checksum of a
// ranged download. Every GET carries If-Match with the ETag
// seen first, so an object replaced meanwhile fails the Get instead of
// mixing versions. On error nothing is left at DestPath.
//
// # Trees and modes
//
// Put of a directory uploads each regular file as prefix+relative path,
// each object atomic but not the tree as a whole; objects under the prefix
// that the source lacks are left in place. Symlinks are read as their target
// when it is a file inside the tree; one leading out is
// storage.ErrUnsafePath, one to a directory errors.ErrUnsupported; devices,
// fifos and sockets are storage.ErrUnsafePath. A tree is not put at a key
// that already holds an object.
//
// Get of a tree lists the prefix, checks every key before writing anything,
// and refuses the whole tree with storage.ErrUnsafePath when a key would not
// map to a plain relative path under DestPath ("." or ".." segments, empty
// segments, a leading "/", a backslash, control characters). Directory
// markers (keys ending in "/") are skipped. Files are created through an
// os.Root of DestPath.
//
// S3 has no file modes: Put keeps a file's permission bits in the object's
// metadata (x-amz-meta-mode, octal), and Get restores them (the 0777 bits,
// plus owner read; 0644 without the metadata).
//
// # Errors
//
// NoSuchKey, NoSuchBucket and 404 are fs.ErrNotExist; AccessDenied,
// InvalidAccessKeyId, SignatureDoesNotMatch, expired tokens, 403 and missing
// credentials are fs.ErrPermission; InvalidBucketName is
// storage.ErrInvalidURL. Messages name the URL, the operation, the HTTP
// status and the server's code and message, never a credential.
package s3store
