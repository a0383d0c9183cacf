package project

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mmbuild/mmbuild/core/plugins/binary"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// Info describes the plugin serving kind ("handler:make",
// "storage:https") without starting it: `PLUGIN describe`, cached by
// sha256, run only for a binary that may run (not writable by others, its
// sum the pinned one, or unpinned with WithAllowUnpinned). `mmbuild
// validate` checks options against the schemas it returns.
func (p *Plugins) Info(ctx context.Context, kind string) (*plugin.Info, error) {
	class, id, _ := strings.Cut(kind, ":")
	name, err := p.resolve(class, id)
	if err != nil {
		return nil, err
	}
	c, err := discovery.Find(p.SearchPath, name)
	if err != nil {
		return nil, err
	}
	e, _ := p.LockFile.Pin(name)
	pinned, ok := e.Sum(lockfile.Platform())
	if !ok && !p.o.allowUnpinned {
		return nil, fmt.Errorf("plugin %s (%s) is not pinned in %s: run `mmbuild plugins lock`, or pass --allow-unpinned", name, c.Path, p.LockPath)
	}
	info, err := p.describeRunnable(ctx, c, pinned)
	var insecure *binary.InsecureError
	if err != nil && !errors.As(err, &insecure) {
		return nil, fmt.Errorf("plugin %s (%s): %w", name, c.Path, err)
	}
	return info, err
}
