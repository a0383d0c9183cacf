// Package makehandler runs make as an mmbuild handler: in the work tree, with
// exactly the build's environment, in its own process group.
package makehandler
