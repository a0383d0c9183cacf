package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

type enginePipelineReport struct {
	Builds []struct {
		Name string `json:"name"`
		engineReport
	} `json:"builds"`
}

// pipelineExample copies examples/pipeline and does what its comment says
// to do on one machine: pin the plugins, make a key pair of one's own (over
// the committed public key), point the store and the signing key's
// variable at local files.
func pipelineExample(t *testing.T, in *testenv.Install) string {
	t.Helper()
	dir := testenv.Example(t, "pipeline")
	engineMustRun(t, in, dir, "plugins", "lock")
	engineMustRun(t, in, dir, "keys", "generate", "--force", "--out", "keys/demo")
	in.Env = append(in.Env, "MMBUILD_STORE=file://"+filepath.Join(dir, "out/store"), "MMBUILD_SIGNING_KEY_FILE="+filepath.Join(dir, "keys/demo.key"))
	return dir
}

// The example pipeline, end to end: the server build consumes the webapp
// build's published artifact through the hand-off variables, and its
// attestation records it with the digest the core computed.
func TestPipelineExample(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir := pipelineExample(t, in)
	r := engineMustRun(t, in, dir, "pipeline", "run", "pipeline.yaml", "--json")

	var rep enginePipelineReport
	dec := json.NewDecoder(strings.NewReader(r.Stdout))
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("pipeline run --json: %v\n%s", err, r.Stdout)
	}
	if len(rep.Builds) != 2 || rep.Builds[0].Name != "webapp" || rep.Builds[1].Name != "server" {
		t.Fatalf("builds: %+v", rep.Builds)
	}
	webapp, server := rep.Builds[0], rep.Builds[1]

	webappTar := mustRead(t, filepath.Join(dir, "webapp/dist/webapp.tar.gz"))
	webappURL := webapp.StagingURL + "/webapp.tar.gz"
	if len(webapp.Artifacts) != 1 || webapp.Artifacts[0].URL != webappURL || webapp.Artifacts[0].SHA256 != sha256Hex(t, webappTar) {
		t.Errorf("webapp artifacts %+v", webapp.Artifacts)
	}
	if got := sha256Hex(t, mustRead(t, engineFilePath(t, webappURL))); got != sha256Hex(t, webappTar) {
		t.Errorf("published webapp.tar.gz sha256 %s, built %s", got, sha256Hex(t, webappTar))
	}

	st := engineReadStatement(t, filepath.Join(dir, "server/out/provenance.json"))
	d, ok := st.material(webappURL)
	if !ok {
		t.Fatalf("the server's attestation does not list %s as a material: %+v", webappURL, st.Predicate.Materials)
	}
	if d["sha256"] != sha256Hex(t, webappTar) {
		t.Errorf("material %s sha256 %s, the webapp artifact has %s", webappURL, d["sha256"], sha256Hex(t, webappTar))
	}

	for _, b := range rep.Builds {
		p := filepath.Join(dir, b.Name, "build.env")
		env := string(mustRead(t, p))
		if b.OutputEnv != p || !strings.Contains(env, "MMBUILD_STAGING_URL="+b.StagingURL+"\n") || !strings.Contains(env, "MMBUILD_STAGING_PATH="+b.StagingKey+"\n") {
			t.Errorf("%s (report %s):\n%s", p, b.OutputEnv, env)
		}
		if !exists(filepath.Join(engineFilePath(t, b.StagingURL), "provenance.json")) {
			t.Errorf("%s: no attestation at %s", b.Name, b.StagingURL)
		}
	}
	if !strings.HasPrefix(server.StagingURL, "file://"+filepath.Join(dir, "out/store/server")+"/") {
		t.Errorf("server staging URL %s", server.StagingURL)
	}
}

func TestPipelineStopsAtFirstFailure(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := pipelineExample(t, in)
	writeFiles(t, dir, map[string]string{"webapp/Makefile": "dist:\n\t@echo webapp fails on purpose >&2; exit 1\n"})
	r := in.Run(dir, "pipeline", "run", "pipeline.yaml", "--json")
	if r.Code != 3 {
		t.Fatalf("exit %d, want 3 (a builder failed)\n%s", r.Code, r.Stderr)
	}
	line := errorLine(t, r)
	for _, w := range []string{"pipeline build 1/2 webapp", "build failed"} {
		if !strings.Contains(line, w) {
			t.Errorf("error line lacks %q: %s", w, line)
		}
	}
	if strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("a failed pipeline printed a report:\n%s", r.Stdout)
	}
	for _, p := range []string{"server/dist", "server/build.env", "server/out", "webapp/build.env", "out/store"} {
		if exists(filepath.Join(dir, p)) {
			t.Errorf("%s exists: the pipeline went on after the failed build", p)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "out")); len(entries) > 0 {
		t.Errorf("out/ holds %d entries", len(entries))
	}
}
