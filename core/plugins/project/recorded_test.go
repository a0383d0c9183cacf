package project

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/plugins/audit"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// A replay resolves handler ids and schemes among the installed plugins an
// attestation records (name and sha256), with no lock file; a kind no
// matching recorded plugin serves names each recorded plugin that is not
// installed or is installed as another build.
func TestOpenRecorded(t *testing.T) {
	dir := t.TempDir()
	plugins := filepath.Join(dir, ".mmbuild", "plugins")
	sum := func(name string) string {
		s, err := discovery.SHA256(filepath.Join(plugins, plugin.BinaryPrefix+name))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	fakePluginKinds(t, plugins, "builder", "1.0.0", plugin.APIVersion, "handler:make")
	fakePluginKinds(t, plugins, "web", "1.0.0", plugin.APIVersion, "storage:https")
	fakePluginKinds(t, plugins, "other", "1.0.0", plugin.APIVersion, "storage:s3")
	recorded := []Recorded{
		{Name: "builder", Version: "1.0.0", SHA256: sum("builder")},
		{Name: "web", Version: "0.9.0", SHA256: "sha256:" + strings.Repeat("ab", 32)},
		{Name: "gone", Version: "2.0.0", SHA256: "sha256:" + strings.Repeat("cd", 32)},
	}
	p, err := OpenRecorded(dir, recorded, isolated(t), WithAuditOptions(audit.WithCacheDir("")))
	if err != nil {
		t.Fatal(err)
	}
	if name, err := p.Handler("make"); err != nil || name != "builder" {
		t.Errorf("Handler(make) = %q, %v; want builder", name, err)
	}
	_, err = p.Storage("https")
	var ns *NotServedError
	if !errors.As(err, &ns) {
		t.Fatalf("Storage(https) = %v, want a *NotServedError", err)
	}
	for _, want := range []string{
		`no installed plugin the attestation records serves URL scheme "https"`,
		`recorded but not installed: "gone" 2.0.0 sha256:` + strings.Repeat("cd", 32),
		`recorded but installed differently: "web" (binary is ` + sum("web") + ` but the attestation records sha256:` + strings.Repeat("ab", 32) + `)`,
		`installed but not recorded, so not asked: "other"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if ran := runs(t, plugins); strings.Join(ran, " ") != "builder" {
		t.Errorf("binaries run: %v, want only the recorded builder", ran)
	}

	twice := append(recorded, Recorded{Name: "builder", Version: "1.0.0", SHA256: "sha256:" + strings.Repeat("ef", 32)})
	if _, err := OpenRecorded(dir, twice); err == nil || !strings.Contains(err.Error(), `records plugin "builder" twice`) {
		t.Errorf("a plugin recorded twice: %v", err)
	}
	if _, err := OpenRecorded(dir, []Recorded{{Name: "../x", SHA256: sum("web")}}); err == nil || !strings.Contains(err.Error(), "invalid plugin name") {
		t.Errorf("a recorded name that is no plugin name: %v", err)
	}
}
