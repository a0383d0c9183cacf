// Package filestore is the storage backend for file:// URLs: local paths,
// read and written directly.
//
// URLs are file:///abs/path or file://localhost/abs/path, percent-decoded as
// net/url does; a trailing slash, "." and empty segments are ignored. Any
// other host, user info, an opaque or relative path, a query or a fragment is
// storage.ErrInvalidURL. A ".." segment (also percent-encoded) is
// storage.ErrUnsafePath: paths are taken literally, never normalized.
//
// Stat and Get resolve symlinks in the URL's own path: the user named it.
// Inside a tree nothing is followed out:
//   - a symlink whose target resolves outside the tree, or a dangling one
//     that points outside, is storage.ErrUnsafePath and refuses the whole
//     transfer;
//   - a symlink to a regular file inside the tree is copied as a regular file
//     (the target's content and mode);
//   - a symlink to a directory is refused with errors.ErrUnsupported (copying
//     it would duplicate or loop);
//   - devices, fifos and sockets, in a tree or named by the URL, are
//     storage.ErrUnsafePath.
//
// The same rules apply to the source tree of a Put.
//
// Stat of a directory checks the tree as Get would and reports the total size
// of the regular files Get would copy.
//
// Get copies a file with its permission bits (the 0777 part); a tree's
// directories keep theirs plus owner rwx, so the core can always clean up.
// Files are read through an os.Root of the checked tree and must still be
// regular files when opened, so a tree changed after the check cannot lead
// out of it or block on a fifo. Copies go through copy_file_range where the
// kernel allows, in 1 MiB steps between which cancellation is checked and
// progress reported. A file the core marks as its read-only snapshot
// (storage.PutRequest.Snapshot: nothing writes it, the core removes it at the
// end of the run) is hard linked instead where it lies on the destination's
// file system: no byte is copied, and only the sync writes it out.
//
// Put never shows a partial object: a file is written to a temporary file in
// the destination directory, synced and renamed over the destination; a tree
// is built in a temporary directory beside the destination, synced, and
// swapped in (atomically with renameat2(RENAME_EXCHANGE) on Linux, else by
// renaming the old tree away first), then the old tree is removed. Missing
// parent directories are created. Put does not change an object's kind: a
// file over a directory, or a tree over a file, is an error.
//
// The backend takes no options; any key in Options is an error. It is meant
// for Unix systems (paths are taken as "/"-separated).
package filestore
