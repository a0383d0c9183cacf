package project

import (
	"context"

	"github.com/mmbuild/mmbuild/core/plugins/audit"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
)

// Audit reports on every plugin binary on the search path against the lock
// file, without trusting any (see audit.Audit). A folder that cannot be
// read fails the audit only when nothing was found at all.
func (p *Plugins) Audit(ctx context.Context) ([]audit.Report, error) {
	cands, err := discovery.Scan(p.SearchPath)
	if err != nil && len(cands) == 0 {
		return nil, err
	}
	return audit.Audit(ctx, cands, p.LockFile, p.o.audit...), nil
}
