package storeindex

import (
	"context"
	"errors"
	"fmt"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Lister lists a folder a page at a time (remote.Store.List).
type Lister interface {
	List(ctx context.Context, url string, use map[string]string, startAfter string) (*storage.ListResponse, error)
}

// Want is an object a lookup needs checked: where it is and the SHA-256
// (hex) the attestation records for it.
type Want struct {
	At      string // the use's config path, as Object.At
	Dir     string // the URL of the folder the object is in
	Name    string // its name in Dir
	Options map[string]string
	SHA256  string
}

// Vouch returns, for each want, the object's size when the folder's
// listing shows it unchanged since the index recorded it with the wanted
// digest; -1 when it does not (not in the index, another digest, another
// version or size, not listed): that object must be asked about again.
// Each folder is listed once, as far as its last wanted name. A folder
// whose listing fails or misbehaves vouches for nothing, and why is in
// the returned error, which is for a log: the lookup goes on without it.
func (ix *Index) Vouch(ctx context.Context, l Lister, wants []Want) ([]int64, error) {
	sizes := make([]int64, len(wants))
	recorded := make(map[key]Object, len(ix.Objects))
	for _, o := range ix.Objects {
		recorded[key{o.At, o.Name}] = o
	}
	type folder struct {
		dir     string
		options map[string]string
		names   map[string][]int // wanted name → index in wants
		last    string           // the greatest wanted name
	}
	var folders []*folder
	byDir := map[string]*folder{}
	for i, w := range wants {
		sizes[i] = -1
		o, ok := recorded[key{w.At, w.Name}]
		if !ok || o.SHA256 != w.SHA256 {
			continue
		}
		f := byDir[w.Dir]
		if f == nil {
			f = &folder{dir: w.Dir, options: w.Options, names: map[string][]int{}}
			byDir[w.Dir] = f
			folders = append(folders, f)
		}
		f.names[w.Name] = append(f.names[w.Name], i)
		f.last = max(f.last, w.Name)
	}
	var errs []error
	for _, f := range folders {
		err := listFolder(ctx, l, f.dir, f.options, f.last, len(f.names), func(e storage.ListEntry) {
			for _, i := range f.names[e.Name] {
				if o := recorded[key{wants[i].At, e.Name}]; e.Version != "" && e.Version == o.Version && e.Size == o.Size {
					sizes[i] = e.Size
				}
			}
		})
		if err != nil {
			for _, is := range f.names {
				for _, i := range is {
					sizes[i] = -1
				}
			}
			errs = append(errs, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return sizes, errors.Join(errs...)
}

// listFolder calls each for the entries of dir's listing up to last. A
// listing is untrusted: its names must ascend, every page but the last
// must name a file, and it may list at most a few times the wanted names
// before reaching the last of them.
func listFolder(ctx context.Context, l Lister, dir string, options map[string]string, last string, wanted int, each func(storage.ListEntry)) error {
	budget := 4*wanted + 4000
	after := ""
	for {
		page, err := l.List(ctx, dir, options, after)
		if err != nil {
			return fmt.Errorf("listing %s: %w", dir, err)
		}
		for _, e := range page.Entries {
			if e.Name <= after {
				return fmt.Errorf("listing %s: %q after %q: the names do not ascend", dir, e.Name, after)
			}
			if budget--; budget < 0 {
				return fmt.Errorf("listing %s: more files than %d wanted ones", dir, wanted)
			}
			after = e.Name
			each(e)
		}
		switch {
		case !page.Truncated || after >= last:
			return nil
		case len(page.Entries) == 0:
			return fmt.Errorf("listing %s: an empty page that says more follow", dir)
		}
	}
}
