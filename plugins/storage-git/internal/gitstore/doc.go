// Package gitstore is the read-only storage backend for git repositories:
// Get writes the tree of one commit (or a folder or file of it) to the
// destination, without a .git folder and without running git.
//
// # URLs
//
//	git+https://host/org/repo.git[//sub/path][@rev]
//	git+http://host/org/repo.git[//sub/path][@rev]
//	git+file:///abs/path/to/repo[//sub/path][@rev]
//
// The repository is the part of the path before the first "//"; what
// follows is a path inside the commit's tree (a folder, written as a
// directory, or a file, written as a file). The revision follows the last
// "@" of the path: a full 40-digit commit id, a branch, a tag (annotated or
// lightweight), or a full ref name ("refs/heads/x", "refs/tags/v1"). A bare
// name is looked up as a branch first, then as a tag, as `git clone
// --branch` does. Without "@rev" (or with "@HEAD") the repository's HEAD —
// its default branch — is used; a path holding "@" must then end with an
// explicit "@rev". Abbreviated and SHA-256 commit ids are refused.
//
// A user, a password, a query or a fragment in the URL is
// storage.ErrInvalidURL: credentials come from Options. A ".." in the
// sub-path is storage.ErrUnsafePath.
//
// # Options
//
//   - token: sent as HTTP basic auth over http(s) (from a secret); ignored
//     for git+file. Never logged nor put in an error.
//   - user: the basic-auth user sent with token. Default: x-access-token,
//     which GitHub, GitLab and Gitea accept with any token.
//   - submodules: "refuse" (default) fails a Get whose tree holds a
//     submodule with errors.ErrUnsupported; "skip" leaves submodules out.
//
// Any other key is an error.
//
// # Fetching
//
// git+https and git+http fetch natively (go-git) into a temporary bare
// repository that is removed afterwards: only the one commit is fetched
// (depth 1). A ref is first resolved against the advertised refs. A commit
// id is fetched by id, which servers allow when they advertise
// allow-reachable-sha1-in-want or allow-tip-sha1-in-want (GitHub, GitLab,
// git with uploadpack.allowAnySHA1InWant); otherwise every branch and tag is
// fetched and the commit looked up among them. git+file reads the repository
// (bare or not) in place and copies nothing but the files written.
//
// A missing repository, revision or sub-path is fs.ErrNotExist; a server
// asking for credentials, or refusing the ones given, is fs.ErrPermission.
//
// # The tree written
//
// Regular files get mode 0644, executable ones 0755, directories 0755,
// whatever the umask. Nothing but regular files and directories is written,
// so the tree is the same wherever it is hashed:
//   - a symbolic link whose target resolves (following further links, as the
//     kernel would) outside the tree being written — the sub-path's folder,
//     not the whole repository — or is absolute, is storage.ErrUnsafePath
//     and refuses the whole Get;
//   - a symbolic link to a file inside the tree is written as a regular file
//     with the target's content and mode;
//   - a symbolic link to a directory, or a dangling one, is an error
//     (errors.ErrUnsupported for a directory, which would duplicate or loop);
//   - a submodule (gitlink) is errors.ErrUnsupported, or left out with the
//     option submodules=skip;
//   - an entry named "", ".", "..", ".git" (any case), or holding "/" or NUL
//     — which git never writes, but a crafted tree may hold — is
//     storage.ErrUnsafePath.
//
// Symbolic links along the sub-path of the URL are followed inside the
// repository: the user named that path.
//
// Everything is checked before anything is written; on error (also on
// cancellation, checked between files and every 1 MiB) the destination is
// removed.
//
// # Results
//
// Stat resolves the revision and the sub-path, checks the tree as Get would
// and reports IsDir, the total size of the files Get would write, and the
// commit's committer time as ModTime; for a remote repository it fetches the
// commit as Get does (the protocol offers no cheaper look at a tree). Get
// reports progress while it writes files, against their total size; the
// fetch before is not reported. Get's response carries the resolved
// commit id as Revision (the core records it as the material's sha1 digest);
// ResolvedRevision returns it without writing anything. Put is
// errors.ErrUnsupported.
package gitstore
