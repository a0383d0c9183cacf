package main

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/mmbuild/mmbuild/core/discovery"
	"github.com/mmbuild/mmbuild/core/lockfile"
	"github.com/mmbuild/mmbuild/core/pluginhost"
)

// LockFileName is the lock file, beside the build config.
const LockFileName = "mmbuild.lock.hcl"

// newHost wires discovery and the project's lock file into a plugin host.
func newHost(projectDir string, allowUnpinned bool, logger hclog.Logger) (*pluginhost.Host, error) {
	lockPath := filepath.Join(projectDir, LockFileName)
	lock, err := lockfile.Load(lockPath)
	if err != nil {
		return nil, err
	}
	dirs := discovery.SearchPath(discovery.WithProjectDir(projectDir))
	platform := lockfile.Platform()
	find := func(name string) (string, error) {
		c, err := discovery.Find(dirs, name)
		if err != nil {
			if lock.Missing() {
				return "", fmt.Errorf("%w (and there is no %s)", err, lockPath)
			}
			return "", err
		}
		return c.Path, nil
	}
	pin := func(name string) (string, bool) {
		e, ok := lock.Pin(name)
		if !ok {
			return "", false
		}
		return e.Sum(platform)
	}
	return pluginhost.New(find, pin,
		pluginhost.WithAllowUnpinned(allowUnpinned),
		pluginhost.WithLogger(logger.Named("plugin")),
	), nil
}
