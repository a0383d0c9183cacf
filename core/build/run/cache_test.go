package run

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/plugins/storage-file/filestore"
)

// A credential the destination's plugin refuses while the run looks the
// build up in the cache is reported as such: the word "cache", the
// destination's position and the credentials: entry that gave it, and
// never the credential's value. The right credential builds and then hits
// the cache, so the refusal is the plugin's answer to the token alone.
func TestCacheLookupRefusedCredential(t *testing.T) {
	const cfgYAML = baseConfig + `secrets:
  - name: DEST_TOKEN
credentials:
  - url: DEST_URL
    secret: DEST_TOKEN
`
	p := newProject(t, cfgYAML)
	// credentials: URLs are not expanded: write the destination's in.
	write(t, filepath.Join(p.dir, "mmbuild.yaml"), strings.Replace(cfgYAML, "DEST_URL", p.env["DEST"], 1))
	git(t, p.dir, "commit", "-q", "-am", "the destination's credentials")
	host := hostWith(t, guardedStore{files: filestore.New(), guarded: p.env["DEST"], token: "right-token"})
	p.env["DEST_TOKEN"] = "right-token"
	if o := runProject(t, p, WithHost(host)); o.err != nil {
		t.Fatalf("with the right token: %v", o.err)
	}
	if o := runProject(t, p, WithHost(host)); o.err != nil || !o.res.Cached {
		t.Fatalf("with the right token again: cached=%v err=%v, want a cache hit", o.res != nil && o.res.Cached, o.err)
	}

	p.env["DEST_TOKEN"] = "wrong-token"
	o := runProject(t, p, WithHost(host))
	if o.err == nil {
		t.Fatal("a refused credential passed")
	}
	msg := o.err.Error()
	for _, want := range []string{
		"mmbuild.yaml:11:16: artifacts.destination: looking up the cache with the credentials of credentials[0] (",
		"mmbuild.yaml:17:5): getting ",
		"wrong or missing token",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("err = %v\nwant %q in it", msg, want)
		}
	}
	if strings.Contains(msg, "wrong-token") {
		t.Errorf("the credential is in the error: %v", msg)
	}
	if p.builds(t) != 1 {
		t.Errorf("builds = %d: the refused lookup went on building", p.builds(t))
	}
}
