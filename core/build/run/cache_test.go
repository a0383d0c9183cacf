package run

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/isolation"
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

// expectHandler lets a run look the cache up before its handler starts
// only where the lookup comes before the build and the key it computes is
// the one the started handler gives (TestBuildCache and
// TestCacheHitWhereTheKernelRefusesTheBox in e2e run it end to end).
func TestExpectHandler(t *testing.T) {
	host := attachedHost(t)
	dest := config.Artifacts{Destination: "file:///out/", Files: []string{"dist/x"}}
	known := []config.Material{{URI: "file:///m", Digest: map[string]string{"sha256": greetingSHA256}}}
	tests := []struct {
		name    string
		cfg     config.Config
		force   bool
		mode    isolation.Mode
		wantBox string // keyIsolation of the expected box; "" for no expectation
	}{
		{"auto", config.Config{Artifacts: dest, Materials: known}, false, isolation.ModeAuto,
			"mechanism=none network=host full=false"}, // attached: no process to box
		{"mode off", config.Config{Artifacts: dest}, false, isolation.ModeOff, "mechanism=none network=host full=false"},
		{"--force", config.Config{Artifacts: dest}, true, isolation.ModeAuto, ""},
		{"no destination", config.Config{Artifacts: config.Artifacts{Files: []string{"x"}}}, false, isolation.ModeAuto, ""},
		{"a material without a digest", config.Config{Artifacts: dest, Materials: []config.Material{{URI: "file:///m"}}}, false, isolation.ModeAuto, ""},
		{"mode required", config.Config{Artifacts: dest}, false, isolation.ModeRequired, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Handler = config.Handler{ID: "make"}
			p := &plan{force: tt.force, handlerPlugin: "make"}
			spec := isolation.Spec{Request: isolation.Request{Mode: tt.mode, Network: isolation.NetworkHost}}
			got := expectHandler(&cfg, p, host, spec)
			if tt.wantBox == "" {
				if got != nil {
					t.Fatalf("expected %+v, want the handler started with the other plugins", got)
				}
				return
			}
			if got == nil {
				t.Fatal("no expectation: the handler starts before the lookup")
			}
			started, err := host.Start(t.Context(), "make")
			if err != nil {
				t.Fatal(err)
			}
			if got.sha256 != started.SHA256 {
				t.Errorf("sha256 %s, the started handler's %s", got.sha256, started.SHA256)
			}
			if box := keyIsolation(got.box); box != tt.wantBox {
				t.Errorf("box %q, want %q", box, tt.wantBox)
			}
		})
	}
}
