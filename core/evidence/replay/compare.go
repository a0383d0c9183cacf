package replay

import (
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

// Artifact is one file the replay built: its digests (as the core computed
// them) and where it lies.
type Artifact struct {
	Digest digest.Set
	Path   string
}

// Comparison is how the rebuilt artifacts compare with the recorded
// subjects.
type Comparison struct {
	// Reproducible is true when every recorded subject was rebuilt with
	// every digest it records; false when nothing was recorded, since then
	// nothing was shown.
	Reproducible bool
	// Subjects are the recorded subjects in their order, each with what was
	// rebuilt for it.
	Subjects []Subject
	// Differing lists the names of the subjects that differ or are missing.
	Differing []string
}

// Compare matches each recorded subject with the rebuilt artifact of the
// same name. A subject matches when the rebuilt digests include every
// algorithm it records, each equal (see digest.Matches): a digest the
// replay did not compute is a difference, not a pass. Rebuilt artifacts no
// subject names are ignored: the record says what was published. The path
// of a rebuilt file is kept only where it differs, for inspection.
func Compare(recorded []provenance.Resource, rebuilt map[string]Artifact) Comparison {
	c := Comparison{Reproducible: len(recorded) > 0}
	for _, s := range recorded {
		sub := Subject{Name: s.URI, Recorded: map[string]string(s.Digest)}
		if a, ok := rebuilt[s.URI]; ok {
			sub.Rebuilt = map[string]string(a.Digest)
			sub.Match = digest.Matches(digest.Set(s.Digest), a.Digest) == nil
			if !sub.Match {
				sub.Path = a.Path
			}
		} else {
			sub.Missing = true
		}
		if !sub.Match {
			c.Reproducible = false
			c.Differing = append(c.Differing, s.URI)
		}
		c.Subjects = append(c.Subjects, sub)
	}
	return c
}
