package project

import (
	"fmt"

	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
)

// Recorded is a plugin binary as an attestation records it: the name it
// ran under, the version it described, the sha256 of its bytes.
type Recorded struct {
	Name, Version, SHA256 string
}

// OpenRecorded is Open for a verifier who is not the builder (replay): the
// plugins are pinned to those the attestation records, found among the
// installed plugins on the search path of dir, and no lock file is read.
// What each serves is asked of the installed binary of a recorded name
// whose sum is the recorded one; when a handler id or scheme is served by
// none, the *NotServedError names each recorded plugin that is not
// installed or whose installed binary differs.
func OpenRecorded(dir string, recorded []Recorded, opts ...Option) (*Plugins, error) {
	o := newOptions(opts)
	dir, err := absDir(dir)
	if err != nil {
		return nil, err
	}
	lock := lockfile.New()
	platform := lockfile.Platform()
	for _, r := range recorded {
		if prev, ok := lock.Pin(r.Name); ok {
			if sum, _ := prev.Sum(platform); sum != r.SHA256 {
				return nil, fmt.Errorf("the attestation records plugin %q twice, as %s and %s", r.Name, sum, r.SHA256)
			}
		}
		if err := lock.Set(r.Name, r.Version, platform, r.SHA256); err != nil {
			return nil, fmt.Errorf("the attestation's plugins: %w", err)
		}
	}
	search := discovery.SearchPath(append([]discovery.Option{discovery.WithProjectDir(dir)}, o.discovery...)...)
	return &Plugins{Dir: dir, LockFile: lock, SearchPath: search, o: o, recorded: true}, nil
}

// pinnedBy says where a pin comes from, in an error: the lock file or the
// attestation.
func (p *Plugins) pinnedBy() string {
	if p.recorded {
		return "the attestation records"
	}
	return "the lock pins"
}

// notInstalled lists the recorded plugins that no runnable, unshadowed
// candidate answers: `"name" version sha256:…`.
func (p *Plugins) notInstalled(cands []discovery.Candidate) []string {
	found := map[string]bool{}
	for _, c := range cands {
		if c.ShadowedBy == "" && discovery.Runnable(c.Path) {
			found[c.Name] = true
		}
	}
	var out []string
	for _, name := range p.LockFile.Names() {
		if found[name] {
			continue
		}
		e, _ := p.LockFile.Pin(name)
		sum, _ := e.Sum(lockfile.Platform())
		out = append(out, fmt.Sprintf("%q %s %s", name, e.Version, sum))
	}
	return out
}
