// Package ocistore is the oci:// storage backend: files and trees stored
// as OCI artifacts in a registry, and images fetched as OCI image layouts,
// through go-containerregistry.
package ocistore
