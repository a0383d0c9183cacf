package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
)

// LockFileName is the lock file, beside the build config.
const LockFileName = "mmbuild.lock.hcl"

// newHost wires discovery and the project's lock file into a plugin host.
// The lock file is the first of lockDirs that has one (default: the
// project folder).
func newHost(projectDir string, allowUnpinned bool, logger hclog.Logger, lockDirs ...string) (*pluginhost.Host, error) {
	lockPath := filepath.Join(projectDir, LockFileName)
	for _, d := range lockDirs {
		if p := filepath.Join(d, LockFileName); fileExists(p) {
			lockPath = p
			break
		}
	}
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
	// Plugins log at the level mmbuild logs at.
	env := append(pluginhost.BaseEnv(os.Environ()), "MMBUILD_PLUGIN_LOG_LEVEL="+logLevelName(logger))
	return pluginhost.New(find, pin,
		pluginhost.WithAllowUnpinned(allowUnpinned),
		pluginhost.WithLogger(logger.Named("plugin")),
		pluginhost.WithEnv(env),
	), nil
}

func logLevelName(l hclog.Logger) string {
	switch {
	case l.IsTrace():
		return "trace"
	case l.IsDebug():
		return "debug"
	case l.IsInfo():
		return "info"
	case l.IsWarn():
		return "warn"
	}
	return "error"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
