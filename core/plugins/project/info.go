package project

import (
	"context"
	"fmt"
	"strings"

	"github.com/mmbuild/mmbuild/core/plugins/audit"
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
	if why := binary.Insecure(c.Path); why != "" {
		return nil, &binary.InsecureError{Path: c.Path, Reason: why}
	}
	sum, err := discovery.SHA256(c.Path)
	if err != nil {
		return nil, err
	}
	e, _ := p.LockFile.Pin(name)
	pinned, ok := e.Sum(lockfile.Platform())
	switch {
	case !ok && !p.o.allowUnpinned:
		return nil, fmt.Errorf("plugin %s (%s) is not pinned in %s: run `mmbuild plugins lock`, or pass --allow-unpinned", name, c.Path, p.LockPath)
	case ok && sum != pinned:
		return nil, fmt.Errorf("plugin %s (%s): binary is %s but %s pins %s", name, c.Path, sum, p.LockPath, pinned)
	}
	return audit.Describe(ctx, c.Path, sum, p.o.audit...)
}
