package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// A secret's value is scrubbed from every byte mmbuild writes, however it
// got there: here it is part of a material's URL (a folder named after it),
// so the http plugin's own retry logs, relayed by the core, carry it; so do
// the progress events and the --json report's material log lines.
func TestSecretValueRedactedFromPluginLogsAndJSON(t *testing.T) {
	in := testenv.NewInstall(t)
	const secret = "tok-5e3r3t-v4lu3"
	root := t.TempDir()
	writeFiles(t, root, map[string]string{secret + "/data.txt": "material data\n"})
	web := testservers.NewHTTPServer(t, root)
	web.Fail("/"+secret+"/data.txt", 503) // one retry, logged by the plugin
	dir := project(t, realDataDigest(t), "secrets:\n  - name: TOKEN\n    from: env://CI_TOKEN\n")
	cfg := strings.Replace(readFile(t, filepath.Join(dir, "mmbuild.yaml")), "file://${PWD}/input/data.txt", web.URL+"/"+secret+"/data.txt", 1)
	writeFiles(t, dir, map[string]string{"mmbuild.yaml": cfg})
	in.Env = append(in.Env, "CI_TOKEN="+secret, "MMBUILD_LOG_LEVEL=debug")
	in.MustRun(dir, "plugins", "lock")
	r := in.MustRun(dir, "run", "--json")
	if web.Count("/"+secret+"/data.txt") < 2 {
		t.Fatalf("the plugin did not retry (%d requests): the test proves nothing", web.Count("/"+secret+"/data.txt"))
	}
	if strings.Contains(r.Stdout, secret) || strings.Contains(r.Stderr, secret) {
		t.Fatalf("the secret's value was printed:\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "[redacted]") {
		t.Fatalf("nothing was redacted: the URL never reached the output?\n%s", r.Stderr)
	}
}
