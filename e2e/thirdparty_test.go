package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// A third party's storage plugin, built outside the workspace against the
// SDK, serves a scheme the core has never heard of (cas://) and receives an
// option (root) and a credential (token) from the config, with no change to
// the core: the lock records what it serves, its schema says which option
// takes a credential.
func TestThirdPartyPluginGetsOptionsAndCredentials(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	in.ThirdPartyPlugin()
	const token = "cas-token-7f3a9c"
	store := filepath.Join(t.TempDir(), "store")
	writeFiles(t, store, map[string]string{".token": token + "\n", "data.txt": "material data\n"})
	dir := project(t, realDataDigest(t), "")
	cfg := strings.Replace(readFile(t, filepath.Join(dir, "mmbuild.yaml")), "  - uri: file://${PWD}/input/data.txt\n",
		"  - uri: cas://data.txt\n    options: {root: "+store+"}\n", 1)
	cfg = "secrets:\n  - name: CAS_TOKEN\ncredentials:\n  - url: cas://\n    secret: CAS_TOKEN\n" + cfg
	writeFiles(t, dir, map[string]string{"mmbuild.yaml": cfg})
	lock := in.MustRun(dir, "plugins", "lock")
	if !strings.Contains(readFile(t, filepath.Join(dir, "mmbuild.lock.hcl")), `"storage:cas"`) {
		t.Fatalf("the lock does not record what cas serves:\n%s\n%s", readFile(t, filepath.Join(dir, "mmbuild.lock.hcl")), lock.Stdout)
	}
	in.Env = append(in.Env, "CAS_TOKEN="+token)
	r := in.MustRun(dir, "run")
	if strings.Contains(r.Stdout+r.Stderr, token) {
		t.Fatal("the token was printed")
	}
	stmt := readFile(t, filepath.Join(dir, "out", "provenance.json"))
	if !strings.Contains(stmt, `"uri": "cas://data.txt"`) || strings.Contains(stmt, token) {
		t.Fatalf("attestation: material missing or token leaked:\n%s", stmt)
	}

	// The plugin refuses a wrong token; the error names neither token.
	in.Env = append(in.Env, "CAS_TOKEN=wrong-token-value")
	r = in.Run(dir, "run", "--force")
	if r.Code == 0 || !strings.Contains(r.Stderr, "permission denied") || strings.Contains(r.Stderr, "wrong-token-value") {
		t.Fatalf("wrong token: exit %d\n%s", r.Code, r.Stderr)
	}

	// validate checks the option against the plugin's schema, with a
	// position, before anything runs.
	writeFiles(t, dir, map[string]string{"mmbuild.yaml": strings.Replace(cfg, "{root: "+store+"}", "{root: "+store+", colour: red}", 1)})
	r = in.Run(dir, "validate")
	if r.Code == 0 || !strings.Contains(r.Stderr, "materials[0].options.colour: option colour: plugin cas (storage:cas): unknown option") {
		t.Fatalf("validate: exit %d\n%s", r.Code, r.Stderr)
	}

	// A token written plainly on the material, beside the credentials
	// entry that gives it from a secret: validate points at the
	// material's option, the one that is wrong.
	writeFiles(t, dir, map[string]string{"mmbuild.yaml": strings.Replace(cfg, "{root: "+store+"}", "{root: "+store+", token: plain-token}", 1)})
	r = in.Run(dir, "validate")
	if r.Code == 0 || !strings.Contains(r.Stderr, "materials[0].options.token: option token: plugin cas (storage:cas): is a credential") || strings.Contains(r.Stderr, "credentials[0]") {
		t.Fatalf("validate, plain token: exit %d\n%s", r.Code, r.Stderr)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
