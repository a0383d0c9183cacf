package isolation

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMountsOnce checks that the box mounts every destination once: a
// $PATH folder that is a system folder (or the symlink it is on a
// merged-/usr system, /bin → usr/bin) is shown by the system's mounts and
// gets no bind of its own, which would mount the same folder twice and
// cost the box's start a mount and a remount each.
func TestMountsOnce(t *testing.T) {
	tools := filepath.Join(t.TempDir(), "tools")
	if err := os.Mkdir(tools, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path []string
	}{
		{"system folders", []string{"/usr/local/bin", "/usr/bin", "/bin", "/sbin", "/usr/sbin"}},
		{"a user folder too", []string{tools, "/bin", "/usr/bin"}},
		{"repeated", []string{"/bin", "/bin/", "/usr/bin", "/usr/bin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec(t)
			s.Path = tc.path
			seen := map[string]string{}
			for _, m := range s.mounts() {
				if op, twice := seen[m.dst]; twice {
					t.Errorf("%s is mounted twice: %s, then %s %s", m.dst, op, m.op, m.src)
				}
				seen[m.dst] = m.op
			}
		})
	}
}
