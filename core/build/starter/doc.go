// Package starter writes the first build config of a make project: the
// targets of its Makefile, and a commented mmbuild.yaml that builds one.
package starter
