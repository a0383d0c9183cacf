// Package project is a project's plugin set: the plugin search path and the
// lock file that pins it, found from the project's folder, and what is done
// with them (start plugins, audit them, update the lock).
package project
