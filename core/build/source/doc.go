// Package source provides the build's source tree: a native git clone at an
// exact commit, or the current work tree, and how either is recorded.
package source
